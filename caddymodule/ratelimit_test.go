package caddymodule

import "testing"

func TestRateLimitDefaults(t *testing.T) {
	for _, tc := range []struct {
		c                 *RateLimitConfig
		loginN, requestsN int
	}{
		{nil, 5, 300},
		{&RateLimitConfig{Off: true}, 0, 0},
		{&RateLimitConfig{Requests: &LimitConfig{Events: 7, Per: 1}}, 5, 7},
	} {
		login, requests := tc.c.limits()
		if login.Events != tc.loginN || requests.Events != tc.requestsN {
			t.Errorf("%+v: login %v, requests %v", tc.c, login, requests)
		}
	}
}
