package integration

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/redisstore"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// TestLoginThrottleThroughCaddy: past the failed-login limit of an
// identifier, a login answers 429 with Retry-After, the right password
// included, and the same for an unknown identifier; another identifier is
// not affected. On Redis, so every Caddy instance on it shares the count.
func TestLoginThrottleThroughCaddy(t *testing.T) {
	s := startSite(t, "rate_limit {\n\t\t\tlogin_failures 3 15m\n\t\t\trequests 1000 1m\n\t\t}")
	const password = "a long enough secret"
	registerAPI(t, s, "throttled@example.com", password)
	registerAPI(t, s, "other@example.com", password)
	login := func(identifier, pw string) *response {
		c := browser(t)
		flow := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil)
		wantStatus(t, flow, http.StatusOK)
		action := get(flow.json(t), "ui", "action").(string)
		body, _ := json.Marshal(map[string]any{"method": "password", "identifier": identifier, "password": pw})
		return do(t, c, "POST", action, string(body))
	}
	for _, identifier := range []string{"throttled@example.com", "nobody@example.com"} {
		for range 3 {
			wantStatus(t, login(identifier, "wrong password"), http.StatusBadRequest)
		}
		res := login(identifier, password)
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s: %d %s", identifier, res.StatusCode, res.body)
		}
		if res.Header.Get("Retry-After") == "" || get(res.json(t), "error", "id") != "too_many_requests" {
			t.Fatalf("%s: throttled answer %v %s", identifier, res.Header, res.body)
		}
	}
	if res := login("other@example.com", password); res.StatusCode != http.StatusOK {
		t.Fatalf("another identifier: %d %s", res.StatusCode, res.body)
	}
}

// TestRequestLimitThroughCaddy: past the self-service request limit of a
// client, its login and registration requests answer 429 with Retry-After;
// whoami and the flows that need a session are not counted.
func TestRequestLimitThroughCaddy(t *testing.T) {
	s := startSiteMemory(t, "rate_limit {\n\t\t\trequests 4 1h\n\t\t}")
	c := browser(t)
	for i := range 4 {
		if res := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil); res.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, res.StatusCode, res.body)
		}
	}
	res := do(t, c, "GET", s.kratos()+"/self-service/registration/api", nil, "Accept", "application/json")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("past the limit: %d %v %s", res.StatusCode, res.Header, res.body)
	}
	if res := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("whoami is not counted: %d", res.StatusCode)
	}
	if res := do(t, c, "GET", s.kratos()+"/self-service/settings/api", nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a settings flow (it needs a session) is not counted: %d", res.StatusCode)
	}
}

// TestLoginThrottleSharedByInstances: two instances (two Services, each
// with its own Redis client) on one Redis share the failed-login count.
func TestLoginThrottleSharedByInstances(t *testing.T) {
	addr := redistest.StartServer(t)
	sch, err := schema.Compile("default", "seed", []byte(seedSchema))
	if err != nil {
		t.Fatal(err)
	}
	var instances []*flows.Service
	for range 2 {
		st, err := redisstore.New(redisstore.Options{Addrs: []string{addr}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		svc, err := flows.New(flows.Config{Schema: sch, Store: st, Limiter: st, PasswordCost: 4,
			LoginFailures: identity.Limit{Events: 2, Per: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, svc)
	}
	login := func(svc *flows.Service) int {
		w := httptest.NewRecorder()
		svc.ServePublic(w, httptest.NewRequest("GET", "http://app.test/self-service/login/api", nil), "/self-service/login/api")
		var f struct{ ID string }
		if err := json.Unmarshal(w.Body.Bytes(), &f); err != nil {
			t.Fatalf("init: %s", w.Body)
		}
		body := `{"method":"password","identifier":"nobody@example.com","password":"wrong password"}`
		r := httptest.NewRequest("POST", "http://app.test/self-service/login?flow="+f.ID, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w = httptest.NewRecorder()
		svc.ServePublic(w, r, "/self-service/login")
		return w.Code
	}
	// One failure on each instance, then both are past the limit of 2.
	for i, want := range []int{400, 400, 429, 429} {
		if got := login(instances[i%2]); got != want {
			t.Fatalf("login %d on instance %d: %d, want %d", i+1, i%2+1, got, want)
		}
	}
}
