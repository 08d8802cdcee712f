package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// TestHardeningThroughCaddy: what no client may do to the store (the
// hardening issue's items), through a real Caddy on Redis and on the memory
// store. The memory store outlives the test's Caddy, so every identifier
// here is unique to the run.
func TestHardeningThroughCaddy(t *testing.T) {
	for _, store := range []struct {
		name  string
		start func(testing.TB, string) *site
	}{{"redis", startSite}, {"memory", startSiteMemory}} {
		t.Run(store.name, func(t *testing.T) {
			s := store.start(t, "rate_limit {\n\t\t\tlogin_failures 3 15m\n\t\t\trequests 10000 1m\n\t\t}")
			run := fmt.Sprintf("%s-%d", store.name, time.Now().UnixNano())
			t.Run("limits", func(t *testing.T) { checkInputLimits(t, s, run) })
			t.Run("login throttle", func(t *testing.T) { checkLoginThrottle(t, s, run) })
			t.Run("look-alike identifiers", func(t *testing.T) { checkLookalikes(t, s, run) })
			t.Run("exact numbers and hash bounds", func(t *testing.T) { checkNumbersAndHashes(t, s, run) })
		})
	}
}

// registerJSON starts an API registration flow and submits body (JSON).
func registerJSON(t *testing.T, s *site, body string) *response {
	t.Helper()
	c := browser(t)
	flow := do(t, c, "GET", s.kratos()+"/self-service/registration/api", nil)
	wantStatus(t, flow, http.StatusOK)
	return do(t, c, "POST", get(flow.json(t), "ui", "action").(string), body)
}

// adminHas reports whether the admin list finds an identity holding email.
func adminHas(t *testing.T, s *site, email string) bool {
	t.Helper()
	res := do(t, browser(t), "GET", s.admin+"/admin/identities?credentials_identifier="+url.QueryEscape(email), nil)
	wantStatus(t, res, http.StatusOK)
	var list []any
	if err := json.Unmarshal(res.body, &list); err != nil {
		t.Fatalf("identity list: %v %s", err, res.body)
	}
	return len(list) > 0
}

// Input nested too deep, with too many dotted segments or too long a
// string is refused with 400 before validation, on every path, and nothing
// is stored; the deepest accepted record reads back.
func checkInputLimits(t *testing.T, s *site, run string) {
	email := "deep-" + run + "@example.com"
	deepKey := "traits.name" + strings.Repeat(".x", 40)
	deepJSON := `{"x":` + strings.Repeat(`{"x":`, 40) + `"leaf"` + strings.Repeat("}", 41)
	for name, body := range map[string]string{
		"dotted form key": url.Values{"method": {"password"}, "password": {"a long enough secret"}, "traits.email": {email}, deepKey: {"v"}}.Encode(),
		"nested JSON":     `{"method":"password","password":"a long enough secret","traits":{"email":"` + email + `","name":` + deepJSON + `}}`,
		"dotted JSON key": `{"method":"password","password":"a long enough secret","traits.email":"` + email + `","` + deepKey + `":"v"}`,
		"long string":     `{"method":"password","password":"a long enough secret","traits":{"email":"` + email + `","name":{"first":"` + strings.Repeat("a", 17*1024) + `"}}}`,
	} {
		var res *response
		if strings.HasPrefix(body, "{") {
			res = registerJSON(t, s, body)
		} else {
			c := browser(t)
			flow := do(t, c, "GET", s.kratos()+"/self-service/registration/api", nil).json(t)
			res = do(t, c, "POST", get(flow, "ui", "action").(string), body, "Content-Type", "application/x-www-form-urlencoded")
		}
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400\n%.300s", name, res.StatusCode, res.body)
		}
	}
	meta := `{"m":` + strings.Repeat(`{"m":`, 40) + `1` + strings.Repeat("}", 41)
	res := do(t, browser(t), "POST", s.admin+"/admin/identities", `{"traits":{"email":"`+email+`"},"metadata_public":`+meta+`}`)
	wantStatus(t, res, http.StatusBadRequest)
	if adminHas(t, s, email) {
		t.Fatal("a refused identity was stored")
	}
	// The deepest the limits accept (32 levels in all) goes through.
	atLimit := `{"m":` + strings.Repeat(`{"m":`, 29) + `1` + strings.Repeat("}", 30)
	res = do(t, browser(t), "POST", s.admin+"/admin/identities", `{"traits":{"email":"`+email+`"},"metadata_public":`+atLimit+`}`)
	wantStatus(t, res, http.StatusCreated)
	id := res.json(t)["id"].(string)
	back := do(t, browser(t), "GET", s.admin+"/admin/identities/"+id, nil)
	wantStatus(t, back, http.StatusOK)
	if !strings.Contains(string(back.body), strings.Repeat(`{"m":`, 30)+`1`) {
		t.Fatalf("read back: %.400s", back.body)
	}
	wantStatus(t, do(t, browser(t), "DELETE", s.admin+"/admin/identities/"+id, nil), http.StatusNoContent)
}

// Failed logins past the limit of an identifier answer 429 with
// Retry-After, for an unknown identifier alike.
func checkLoginThrottle(t *testing.T, s *site, run string) {
	const password = "a long enough secret"
	known := "throttled-" + run + "@example.com"
	registerAPI(t, s, known, password)
	login := func(identifier, pw string) *response {
		c := browser(t)
		flow := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil).json(t)
		body, _ := json.Marshal(map[string]any{"method": "password", "identifier": identifier, "password": pw})
		return do(t, c, "POST", get(flow, "ui", "action").(string), string(body))
	}
	for _, identifier := range []string{known, "nobody-" + run + "@example.com"} {
		for range 3 {
			wantStatus(t, login(identifier, "wrong password"), http.StatusBadRequest)
		}
		res := login(identifier, password)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || get(res.json(t), "error", "id") != "too_many_requests" {
			t.Fatalf("%s: %d %v %s", identifier, res.StatusCode, res.Header, res.body)
		}
	}
}

// A look-alike of an existing email is the same account (400, duplicate);
// one with an invisible character is refused.
func checkLookalikes(t *testing.T, s *site, run string) {
	email := "alice-" + run + "@example.com"
	registerAPI(t, s, email, "a long enough secret")
	for _, lookalike := range []string{"ａ" + email[1:], strings.ToUpper(email), "ali\u200bce" + email[5:]} {
		res := registerJSON(t, s, fmt.Sprintf(`{"method":"password","password":"a long enough secret","traits":{"email":%q}}`, lookalike))
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: %d, want 400\n%.300s", lookalike, res.StatusCode, res.body)
		}
	}
	// The fullwidth spelling signs in to the one account.
	c := browser(t)
	flow := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil).json(t)
	res := do(t, c, "POST", get(flow, "ui", "action").(string), fmt.Sprintf(`{"method":"password","identifier":%q,"password":"a long enough secret"}`, "ａ"+email[1:]))
	wantStatus(t, res, http.StatusOK)
	if get(res.json(t), "session", "identity", "traits", "email") != email {
		t.Errorf("signed in as %v", get(res.json(t), "session", "identity", "traits"))
	}
}

// Integers beyond 2^53 come back exactly; an imported argon2id hash beyond
// the bounds is refused at import.
func checkNumbersAndHashes(t *testing.T, s *site, run string) {
	email := "numbers-" + run + "@example.com"
	res := do(t, browser(t), "POST", s.admin+"/admin/identities", `{"traits":{"email":"`+email+`"},"metadata_public":{"n":9007199254740993}}`)
	wantStatus(t, res, http.StatusCreated)
	if !strings.Contains(string(res.body), `"n":9007199254740993`) {
		t.Errorf("created: %s", res.body)
	}
	id := res.json(t)["id"].(string)
	if back := do(t, browser(t), "GET", s.admin+"/admin/identities/"+id, nil); !strings.Contains(string(back.body), `"n":9007199254740993`) {
		t.Errorf("read back: %s", back.body)
	}
	huge := `$argon2id$v=19$m=4294967295,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY`
	res = do(t, browser(t), "POST", s.admin+"/admin/identities", fmt.Sprintf(`{"traits":{"email":"hash-%s@example.com"},"credentials":{"password":{"config":{"hashed_password":%q}}}}`, run, huge))
	wantStatus(t, res, http.StatusBadRequest)
}

// TestSettingsFlowsPerIdentityBounded: a signed-in client that keeps
// starting settings flows makes the store keep at most
// identity.MaxIdentityFlows of them: one more pushes the oldest out (404),
// the others still answer.
func TestSettingsFlowsPerIdentityBounded(t *testing.T) {
	for name, start := range map[string]func(testing.TB, string) *site{"Redis": startSite, "Memory": startSiteMemory} {
		t.Run(name, func(t *testing.T) {
			s := start(t, "")
			token, _ := registerAPI(t, s, fmt.Sprintf("bounded-%d@example.com", time.Now().UnixNano()), "a long enough secret")
			c := browser(t)
			var ids []string
			for range identity.MaxIdentityFlows + 1 {
				id, err := settingsFlowAPI(c, s, token)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			fetch := func(id string) *response {
				return do(t, c, "GET", s.kratos()+"/self-service/settings/flows?id="+id, nil, "X-Session-Token", token)
			}
			wantStatus(t, fetch(ids[0]), http.StatusNotFound)
			for _, id := range []string{ids[1], ids[len(ids)-1]} {
				wantStatus(t, fetch(id), http.StatusOK)
			}
		})
	}
}
