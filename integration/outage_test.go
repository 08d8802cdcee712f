package integration

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// outageClient is the client of the outage test: a request that hangs
// while Redis is down fails the test instead of stalling it.
func outageClient(t *testing.T) *http.Client {
	c := browser(t)
	c.Timeout = 10 * time.Second
	return c
}

// timed is do, logging how long the request took (never asserted).
func timed(t *testing.T, c *http.Client, method, u string, body any, header ...string) *response {
	t.Helper()
	start := time.Now()
	res := do(t, c, method, u, body, header...)
	t.Logf("%s %s: %d %s in %s", method, strings.TrimPrefix(u, "http://"), res.StatusCode, res.Header.Get("Content-Type"), time.Since(start).Round(time.Millisecond))
	return res
}

// wantUnavailable checks the answer of a path of ours while the store is
// down: 503 with the JSON error envelope.
func wantUnavailable(t *testing.T, what string, r *response) {
	t.Helper()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%s: status %d, want 503 (Content-Type %q)\n%s", what, r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, r.Header.Get("Content-Type"))
	}
	var env struct {
		Error struct {
			Code    int    `json:"code"`
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("%s: the body is not JSON: %v\n%s", what, err, r.body)
	}
	if env.Error.Code != 503 || env.Error.Status != "Service Unavailable" || env.Error.Message == "" {
		t.Errorf("%s: not the 503 error envelope: %s", what, r.body)
	}
}

// TestStoreOutage stops Redis under a running Caddy and starts it again:
// while it is down our paths answer 503 and the app keeps working without
// identity; once it is back everything works again, without a reload.
func TestStoreOutage(t *testing.T) {
	redis := redistest.StartStoppable(t)
	s := startAppSiteOn(t, redis.Addr)
	c := outageClient(t)
	whoami := s.kratos() + "/sessions/whoami"

	// Before: signed in, and the app knows who.
	token, reg := registerAPI(t, s.site, "outage@example.com", "a long enough secret")
	wantID, _ := get(reg, "identity", "id").(string)
	res := do(t, c, "GET", whoami, nil, "X-Session-Token", token)
	wantStatus(t, res, 200)
	if got := get(res.json(t), "identity", "id"); got != wantID {
		t.Fatalf("whoami before the outage: identity %v, want %s", got, wantID)
	}
	res = do(t, c, "GET", s.public+"/page", nil, "X-Session-Token", token)
	wantStatus(t, res, 200)
	if id, _, _ := identityOf(t, s.app.last("/page")); id != wantID {
		t.Fatalf("before the outage the app got identity %q, want %s", id, wantID)
	}

	redis.Stop()

	t.Run("down: whoami", func(t *testing.T) {
		res := timed(t, c, "GET", whoami, nil, "X-Session-Token", token)
		wantUnavailable(t, "whoami with a token", res)
	})
	t.Run("down: API login flow", func(t *testing.T) {
		res := timed(t, c, "GET", s.kratos()+"/self-service/login/api", nil)
		wantUnavailable(t, "API login flow init", res)
	})
	t.Run("down: browser login flow", func(t *testing.T) {
		// The error cannot be stored for the error UI: the browser gets
		// the error page right away.
		res := timed(t, c, "GET", s.kratos()+"/self-service/login/browser", nil,
			"Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
		if res.StatusCode != http.StatusServiceUnavailable || mt != "text/html" ||
			!strings.Contains(string(res.body), "The identity store could not be reached") {
			t.Fatalf("browser login flow init: %d %s, want 503 with the error page\n%s", res.StatusCode, mt, res.body)
		}
	})
	t.Run("down: the app without identity", func(t *testing.T) {
		before := s.app.count("/page")
		res := timed(t, c, "GET", s.public+"/page", nil, append([]string{"X-Session-Token", token}, forgedIdentity...)...)
		wantStatus(t, res, 200)
		if string(res.body) != "app" || s.app.count("/page") != before+1 {
			t.Fatalf("with a token the page did not come from the app: %q", res.body)
		}
		wantNoIdentity(t, "with a token, store down", s.app.last("/page"))

		res = timed(t, c, "GET", s.public+"/page", nil)
		wantStatus(t, res, 200)
		if string(res.body) != "app" || s.app.count("/page") != before+2 {
			t.Fatalf("without a token the page did not come from the app: %q", res.body)
		}
		wantNoIdentity(t, "without a token, store down", s.app.last("/page"))
	})
	t.Run("down: require_session", func(t *testing.T) {
		res := timed(t, c, "GET", s.public+"/account/billing", nil, "X-Session-Token", token)
		wantUnavailable(t, "require_session page with a token", res)
		if n := s.app.count("/account/billing"); n != 0 {
			t.Fatalf("the app got %d requests under require_session while the store was down", n)
		}
	})
	t.Run("down: admin API", func(t *testing.T) {
		res := timed(t, c, "GET", s.admin+"/admin/identities", nil)
		wantUnavailable(t, "admin list identities", res)
	})

	redis.Restart()

	// The go-redis pool may refuse to dial for a moment after many failed
	// dials (it probes once a second), so wait, boundedly, for the first
	// answer that is not 503; it must then be the old session.
	deadline := time.Now().Add(15 * time.Second)
	for tries := 1; ; tries++ {
		res = do(t, c, "GET", whoami, nil, "X-Session-Token", token)
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Logf("whoami answered %d after the restart, try %d", res.StatusCode, tries)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("whoami still answers 503 %d tries after Redis came back\n%s", tries, res.body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The data was saved before the outage (redistest's Stop), so the old
	// session works again, everywhere.
	wantStatus(t, res, 200)
	if got := get(res.json(t), "identity", "id"); got != wantID {
		t.Fatalf("whoami after the outage: identity %v, want %s", got, wantID)
	}
	res = do(t, c, "GET", s.public+"/page", nil, "X-Session-Token", token)
	wantStatus(t, res, 200)
	if id, _, _ := identityOf(t, s.app.last("/page")); id != wantID {
		t.Fatalf("after the outage the app got identity %q, want %s", id, wantID)
	}
	res = do(t, c, "GET", s.public+"/account/billing", nil, "X-Session-Token", token)
	wantStatus(t, res, 200)
	if id, _, _ := identityOf(t, s.app.last("/account/billing")); id != wantID {
		t.Fatalf("after the outage the require_session page got identity %q, want %s", id, wantID)
	}
	res = do(t, c, "GET", s.admin+"/admin/identities", nil)
	wantStatus(t, res, 200)
	if !strings.Contains(string(res.body), wantID) {
		t.Fatalf("after the outage the admin list lacks %s: %s", wantID, res.body)
	}

	// And writes work: a new sign-up, whose session is good.
	token2, reg2 := registerAPI(t, s.site, "after@example.com", "a long enough secret")
	res = do(t, c, "GET", whoami, nil, "X-Session-Token", token2)
	wantStatus(t, res, 200)
	if got, want := get(res.json(t), "identity", "id"), get(reg2, "identity", "id"); got != want || got == wantID {
		t.Fatalf("whoami of the new sign-up: identity %v, want %v", got, want)
	}
}
