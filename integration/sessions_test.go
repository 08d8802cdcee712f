package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// registerAPI signs up through the API flow and returns the session token.
func registerAPI(t *testing.T, s *site, email, password string) (string, map[string]any) {
	t.Helper()
	c := browser(t)
	flow := do(t, c, "GET", s.kratos()+"/self-service/registration/api", nil)
	wantStatus(t, flow, 200)
	action := get(flow.json(t), "ui", "action").(string)
	res := do(t, c, "POST", action, fmt.Sprintf(`{"method":"password","password":%q,"traits":{"email":%q,"name":{"first":"Grace","last":"Hopper"}}}`, password, email))
	wantStatus(t, res, 200)
	m := res.json(t)
	token, _ := m["session_token"].(string)
	if !strings.HasPrefix(token, "ory_st_") || len(token) != 39 {
		t.Fatalf("session_token %q", token)
	}
	return token, m
}

// loginBrowser signs in with a plain browser form and returns the client.
func loginBrowser(t *testing.T, s *site, c *http.Client, email, password string, query string) *response {
	t.Helper()
	init := do(t, c, "GET", s.kratos()+"/self-service/login/browser"+query, nil)
	wantStatus(t, init, 303)
	loc, _ := url.Parse(init.Header.Get("Location"))
	id := loc.Query().Get("flow")
	flow := do(t, c, "GET", s.kratos()+"/self-service/login/flows?id="+id, nil)
	wantStatus(t, flow, 200)
	f := flow.json(t)
	identifier := email
	if v, ok := get(node(f, "identifier"), "attributes", "value").(string); ok && v != "" {
		identifier = v
	}
	return do(t, c, "POST", get(f, "ui", "action").(string), url.Values{
		"method": {"password"}, "identifier": {identifier}, "password": {password}, "csrf_token": {csrfOf(t, f)},
	})
}

func TestRegistrationLoginWhoamiLogout(t *testing.T) {
	s := startSite(t, "")
	token, reg := registerAPI(t, s, "Ada@Example.com", "correct horse battery")
	if get(reg, "identity", "traits", "email") != "Ada@Example.com" {
		t.Fatalf("identity traits: %v", reg["identity"])
	}

	t.Run("whoami with token, bearer and nothing", func(t *testing.T) {
		c := browser(t)
		res := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token)
		wantStatus(t, res, 200)
		m := res.json(t)
		if m["active"] != true || get(m, "identity", "traits", "email") != "Ada@Example.com" || m["authenticator_assurance_level"] != "aal1" {
			t.Fatalf("whoami: %s", res.body)
		}
		if res.Header.Get("X-Kratos-Authenticated-Identity-Id") != get(m, "identity", "id") {
			t.Fatalf("identity header %q", res.Header.Get("X-Kratos-Authenticated-Identity-Id"))
		}
		if m["privileged"] != true {
			t.Fatalf("fresh session not privileged: %s", res.body)
		}
		res = do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "Authorization", "Bearer "+token)
		wantStatus(t, res, 200)
		res = do(t, c, "GET", s.kratos()+"/sessions/whoami", nil)
		wantStatus(t, res, 401)
		if get(res.json(t), "error", "id") != "session_inactive" {
			t.Fatalf("no session: %s", res.body)
		}
	})

	t.Run("duplicate registration", func(t *testing.T) {
		c := browser(t)
		flow := do(t, c, "GET", s.kratos()+"/self-service/registration/api", nil)
		action := get(flow.json(t), "ui", "action").(string)
		res := do(t, c, "POST", action, `{"method":"password","password":"another good password","traits":{"email":"ada@example.COM"}}`)
		wantStatus(t, res, 400)
		if get(res.json(t), "ui", "messages", 0, "id") != float64(4000007) {
			t.Fatalf("duplicate: %s", res.body)
		}
	})

	t.Run("api login wrong and right password", func(t *testing.T) {
		c := browser(t)
		flow := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil)
		wantStatus(t, flow, 200)
		action := get(flow.json(t), "ui", "action").(string)
		res := do(t, c, "POST", action, `{"method":"password","identifier":"ada@example.com","password":"wrong password!"}`)
		wantStatus(t, res, 400)
		if get(res.json(t), "ui", "messages", 0, "id") != float64(4000006) {
			t.Fatalf("wrong password: %s", res.body)
		}
		unknown := do(t, c, "POST", action, `{"method":"password","identifier":"nobody@example.com","password":"wrong password!"}`)
		wantStatus(t, unknown, 400)
		if get(unknown.json(t), "ui", "messages") == nil || fmt.Sprint(get(unknown.json(t), "ui", "messages")) != fmt.Sprint(get(res.json(t), "ui", "messages")) {
			t.Fatalf("unknown identifier answers differently: %s vs %s", unknown.body, res.body)
		}
		res = do(t, c, "POST", action, `{"method":"password","identifier":"ADA@example.com","password":"correct horse battery"}`)
		wantStatus(t, res, 200)
		if tok, _ := res.json(t)["session_token"].(string); !strings.HasPrefix(tok, "ory_st_") || tok == token {
			t.Fatalf("login token: %s", res.body)
		}
	})

	t.Run("browser login, refresh, logout", func(t *testing.T) {
		c := browser(t)
		res := loginBrowser(t, s, c, "ada@example.com", "correct horse battery", "?return_to=/account")
		wantStatus(t, res, 303)
		if got := res.Header.Get("Location"); got != s.public+"/account" {
			t.Fatalf("after login Location %q", got)
		}
		var sessionCookie *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "ory_kratos_session" {
				sessionCookie = ck
			}
		}
		if sessionCookie == nil || !sessionCookie.HttpOnly || sessionCookie.SameSite != http.SameSiteLaxMode || sessionCookie.Path != "/" {
			t.Fatalf("session cookie: %+v", sessionCookie)
		}
		who := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil)
		wantStatus(t, who, 200)
		sid := who.json(t)["id"]
		authAt := who.json(t)["authenticated_at"]

		// Logged in: a new login flow without refresh goes straight back.
		again := do(t, c, "GET", s.kratos()+"/self-service/login/browser", nil)
		wantStatus(t, again, 303)
		if strings.Contains(again.Header.Get("Location"), "flow=") {
			t.Fatalf("already signed in but got a login flow: %s", again.Header.Get("Location"))
		}
		ajax := do(t, c, "GET", s.kratos()+"/self-service/login/browser", nil, "Accept", "application/json")
		wantStatus(t, ajax, 400)
		if get(ajax.json(t), "error", "id") != "session_already_available" {
			t.Fatalf("%s", ajax.body)
		}

		// Refresh keeps the session and renews authenticated_at.
		res = loginBrowser(t, s, c, "", "correct horse battery", "?refresh=true")
		wantStatus(t, res, 303)
		who = do(t, c, "GET", s.kratos()+"/sessions/whoami", nil)
		if who.json(t)["id"] != sid || who.json(t)["authenticated_at"] == authAt {
			t.Fatalf("refresh: before %v %v, after %s", sid, authAt, who.body)
		}

		out := do(t, c, "GET", s.kratos()+"/self-service/logout/browser", nil)
		wantStatus(t, out, 200)
		logoutURL := out.json(t)["logout_url"].(string)
		bad := do(t, c, "GET", s.kratos()+"/self-service/logout?token=ory_lo_wrong", nil, "Accept", "application/json")
		wantStatus(t, bad, 403)
		// Another session's logout URL ends nothing: it is 403 for both.
		other := browser(t)
		wantStatus(t, loginBrowser(t, s, other, "ada@example.com", "correct horse battery", ""), 303)
		otherOut := do(t, other, "GET", s.kratos()+"/self-service/logout/browser", nil)
		wantStatus(t, otherOut, 200)
		otherURL := otherOut.json(t)["logout_url"].(string)
		if otherURL == logoutURL {
			t.Fatalf("two sessions got the same logout URL %s", logoutURL)
		}
		wantStatus(t, do(t, c, "GET", otherURL, nil, "Accept", "application/json"), 403)
		wantStatus(t, do(t, other, "GET", logoutURL, nil, "Accept", "application/json"), 403)
		wantStatus(t, do(t, other, "GET", s.kratos()+"/sessions/whoami", nil), 200)
		// Asking again gives the same URL: one open tab's link stays valid.
		if again := do(t, c, "GET", s.kratos()+"/self-service/logout/browser", nil).json(t)["logout_url"]; again != logoutURL {
			t.Fatalf("logout URL changed from %s to %v", logoutURL, again)
		}
		res = do(t, c, "GET", logoutURL, nil)
		wantStatus(t, res, 303)
		who = do(t, c, "GET", s.kratos()+"/sessions/whoami", nil)
		wantStatus(t, who, 401)
	})

	t.Run("api logout", func(t *testing.T) {
		c := browser(t)
		res := do(t, c, "DELETE", s.kratos()+"/self-service/logout/api", fmt.Sprintf(`{"session_token":%q}`, token))
		wantStatus(t, res, 204)
		res = do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token)
		wantStatus(t, res, 401)
		res = do(t, c, "DELETE", s.kratos()+"/self-service/logout/api", fmt.Sprintf(`{"session_token":%q}`, token))
		wantStatus(t, res, 403)
	})
}

func TestLoginErrors(t *testing.T) {
	s := startSite(t, "")
	registerAPI(t, s, "bob@example.com", "a long enough secret")
	c := browser(t)

	t.Run("foreign return_to", func(t *testing.T) {
		res := do(t, c, "GET", s.kratos()+"/self-service/login/browser?return_to=https://evil.example/", nil, "Accept", "application/json")
		wantStatus(t, res, 400)
		if get(res.json(t), "error", "id") != "self_service_flow_return_to_forbidden" {
			t.Fatalf("%s", res.body)
		}
		for _, bad := range []string{"//evil.example/x", "javascript:alert(1)", "https://127.0.0.1.evil.example/"} {
			res := do(t, c, "GET", s.kratos()+"/self-service/login/browser?return_to="+url.QueryEscape(bad), nil, "Accept", "application/json")
			wantStatus(t, res, 400)
		}
	})

	t.Run("csrf missing and wrong", func(t *testing.T) {
		init := do(t, c, "GET", s.kratos()+"/self-service/login/browser", nil, "Accept", "application/json")
		wantStatus(t, init, 200)
		f := init.json(t)
		action := get(f, "ui", "action").(string)
		res := do(t, c, "POST", action, url.Values{"method": {"password"}, "identifier": {"bob@example.com"}, "password": {"a long enough secret"}}, "Accept", "application/json")
		wantStatus(t, res, 403)
		if get(res.json(t), "error", "id") != "security_csrf_violation" ||
			get(res.json(t), "error", "details", "hint") != "The anti-CSRF token was included in neither the HTTP body (`csrf_token`) nor the HTTP header (`X-CSRF-Token`)." {
			t.Fatalf("%s", res.body)
		}
		if !slices.Contains(res.Header.Values("Vary"), "Cookie") {
			t.Errorf("a CSRF answer without Vary: Cookie: %v", res.Header)
		}
		res = do(t, c, "POST", action, url.Values{"method": {"password"}, "identifier": {"bob@example.com"}, "password": {"a long enough secret"},
			"csrf_token": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}}, "Accept", "application/json")
		wantStatus(t, res, 403)
		if get(res.json(t), "error", "details", "reject_reason") != "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow." {
			t.Fatalf("reject_reason: %s", res.body)
		}
		// Another browser (no cookies) cannot fetch the flow.
		res = do(t, browser(t), "GET", s.kratos()+"/self-service/login/flows?id="+f["id"].(string), nil)
		wantStatus(t, res, 403)
	})

	t.Run("api flow refuses cookies", func(t *testing.T) {
		flow := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil)
		action := get(flow.json(t), "ui", "action").(string)
		res := do(t, c, "POST", action, `{"method":"password","identifier":"bob@example.com","password":"a long enough secret"}`, "Cookie", "x=1")
		wantStatus(t, res, 400)
	})

	t.Run("bad bodies", func(t *testing.T) {
		flow := do(t, browser(t), "GET", s.kratos()+"/self-service/login/api", nil)
		action := get(flow.json(t), "ui", "action").(string)
		for name, body := range map[string]string{
			"malformed": `{"method":`, "wrong type": `{"method":"password","identifier":5,"password":"x"}`,
			"unknown field": `{"method":"password","identifier":"a","password":"b","admin":true}`,
			"oversized":     `{"method":"password","identifier":"` + strings.Repeat("a", 70<<10) + `"}`,
		} {
			res := do(t, browser(t), "POST", action, body)
			if res.StatusCode < 400 || res.StatusCode >= 500 || get(res.json(t), "error", "message") == nil {
				t.Errorf("%s: status %d %s", name, res.StatusCode, res.body)
			}
		}
		res := do(t, browser(t), "POST", s.kratos()+"/self-service/login?flow=00000000-0000-4000-8000-000000000000", `{"method":"password"}`)
		wantStatus(t, res, 404)
	})

	t.Run("admin paths are not public", func(t *testing.T) {
		for _, p := range []string{"/admin/identities", "/identities", "/admin/sessions/x"} {
			res := do(t, c, "GET", s.kratos()+p, nil)
			wantStatus(t, res, 404)
		}
	})
}
