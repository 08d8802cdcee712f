package integration

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
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

// startStore starts the sites of startSite on "redis" or "memory".
func startStore(t *testing.T, store, extra string) *site {
	t.Helper()
	if store == "memory" {
		return startSiteMemory(t, extra)
	}
	return startSite(t, extra)
}

// linkRel is the URL of a rel in a Link header, or "".
func linkRel(link, rel string) string {
	for _, part := range strings.Split(link, ",") {
		u, params, ok := strings.Cut(part, ";")
		if ok && strings.TrimSpace(params) == `rel="`+rel+`"` {
			return strings.Trim(strings.TrimSpace(u), "<>")
		}
	}
	return ""
}

// sessionIDOf is the session id of a token, through whoami.
func sessionIDOf(t *testing.T, s *site, token string) string {
	t.Helper()
	res := do(t, browser(t), "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token)
	wantStatus(t, res, 200)
	return res.json(t)["id"].(string)
}

// listIDs is the ids of a JSON array answer.
func listIDs(t *testing.T, res *response) []string {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal(res.body, &items); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, res.body)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, it["id"].(string))
	}
	return ids
}

// Session management through Caddy on both stores: a browser (cookie) and
// a native app (token) list and revoke each other's sessions, and the
// admin API lists them all.
func TestSessionManagement(t *testing.T) {
	for _, store := range []string{"redis", "memory"} {
		t.Run(store, func(t *testing.T) {
			s := startStore(t, store, "")
			email := "manage-" + store + "@example.com"
			const password = "correct horse battery"
			appToken, _ := registerAPI(t, s, email, password)
			other := loginAPI(t, s, email, password)
			b := browser(t)
			wantStatus(t, loginBrowser(t, s, b, email, password, ""), 303)
			appID, otherID := sessionIDOf(t, s, appToken), sessionIDOf(t, s, other)
			res := do(t, b, "GET", s.kratos()+"/sessions/whoami", nil)
			wantStatus(t, res, 200)
			browserID := res.json(t)["id"].(string)

			// The browser lists the app's sessions, newest first.
			res = do(t, b, "GET", s.kratos()+"/sessions", nil)
			wantStatus(t, res, 200)
			if got, want := listIDs(t, res), []string{otherID, appID}; !slices.Equal(got, want) {
				t.Fatalf("browser's list %v, want %v", got, want)
			}
			if res.Header.Get("X-Total-Count") != "2" || !strings.Contains(res.Header.Get("Link"), "/.ory/kratos/public/sessions?") {
				t.Errorf("X-Total-Count %q, Link %q", res.Header.Get("X-Total-Count"), res.Header.Get("Link"))
			}
			res = do(t, b, "GET", s.kratos()+"/sessions?page_size=1", nil)
			if got := listIDs(t, res); len(got) != 1 || linkRel(res.Header.Get("Link"), "next") == "" {
				t.Errorf("page of one: %v, Link %q", got, res.Header.Get("Link"))
			}

			// The browser revokes one (no CSRF token, as Kratos).
			res = do(t, b, "DELETE", s.kratos()+"/sessions/"+otherID, nil)
			wantStatus(t, res, 204)
			wantStatus(t, do(t, browser(t), "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", other), 401)
			res = do(t, b, "DELETE", s.kratos()+"/sessions/"+browserID, nil)
			wantStatus(t, res, 400)
			if get(res.json(t), "error", "message") != "cannot revoke current session" {
				t.Errorf("revoking the current session: %s", res.body)
			}

			// The app revokes all others: the browser is signed out.
			res = do(t, browser(t), "DELETE", s.kratos()+"/sessions", nil, "X-Session-Token", appToken)
			wantStatus(t, res, 200)
			if get(res.json(t), "count") != float64(2) {
				t.Errorf("DELETE /sessions: %s, want count 2", res.body)
			}
			wantStatus(t, do(t, b, "GET", s.kratos()+"/sessions/whoami", nil), 401)
			res = do(t, b, "GET", s.kratos()+"/sessions", nil)
			wantStatus(t, res, 401)
			if get(res.json(t), "error", "reason") != "No valid session cookie found." {
				t.Errorf("no session: %s", res.body)
			}

			// The admin list: every session, with the filter.
			seen := map[string]any{}
			next := s.admin + "/admin/sessions?page_size=2&active=false"
			for next != "" {
				res = do(t, browser(t), "GET", next, nil)
				wantStatus(t, res, 200)
				var items []map[string]any
				if err := json.Unmarshal(res.body, &items); err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					seen[it["id"].(string)] = it["active"]
					if it["identity"] != nil {
						t.Errorf("identity without expand: %v", it["identity"])
					}
				}
				next = linkRel(res.Header.Get("Link"), "next")
			}
			for _, id := range []string{otherID, browserID} {
				if v, ok := seen[id]; !ok || v != false {
					t.Errorf("admin active=false: session %s listed %v as %v", id, ok, v)
				}
			}
			if _, ok := seen[appID]; ok {
				t.Errorf("admin active=false listed the active session %s", appID)
			}
		})
	}
}

// The device a session records carries the client address Caddy
// determined: X-Forwarded-For from a proxy in trusted_proxies, the
// connection's address otherwise; Cloudflare's location headers count only
// from a trusted proxy.
func TestSessionDeviceClientIP(t *testing.T) {
	trusting, plain := startTrustingSites(t, "rate_limit off")

	forwarded := []string{"X-Forwarded-For", "203.0.113.9", "Cf-Ipcity", "Berlin", "Cf-Ipcountry", "DE", "User-Agent", "device-test/1.0"}
	for _, tc := range []struct {
		port            int
		email           string
		wantIP, wantLoc string
	}{
		{trusting, "trusted-proxy@example.com", "203.0.113.9", "Berlin, DE"},
		{plain, "untrusted-proxy@example.com", "127.0.0.1", ""},
	} {
		base := fmt.Sprintf("http://127.0.0.1:%d/.ory/kratos/public", tc.port)
		c := browser(t)
		flow := do(t, c, "GET", base+"/self-service/registration/api", nil)
		wantStatus(t, flow, 200)
		res := do(t, c, "POST", get(flow.json(t), "ui", "action").(string),
			fmt.Sprintf(`{"method":"password","password":"correct horse battery","traits":{"email":%q}}`, tc.email), forwarded...)
		wantStatus(t, res, 200)
		devices, _ := get(res.json(t), "session", "devices").([]any)
		if len(devices) != 1 {
			t.Fatalf("devices %v", get(res.json(t), "session", "devices"))
		}
		d := devices[0].(map[string]any)
		if d["ip_address"] != tc.wantIP || d["location"] != tc.wantLoc || d["user_agent"] != "device-test/1.0" {
			t.Errorf("port %d: device %v, want ip %s location %q", tc.port, d, tc.wantIP, tc.wantLoc)
		}
	}
}

// The settings page's "Your devices" through Caddy: the other sessions are
// listed, and its form signs one out.
func TestSettingsPageDevicesThroughCaddy(t *testing.T) {
	s := startSite(t, "")
	const email, password = "devices-page@example.com", "correct horse battery"
	registerAPI(t, s, email, password)
	other := loginAPI(t, s, email, password)
	otherID := sessionIDOf(t, s, other)
	b := browser(t)
	wantStatus(t, loginBrowser(t, s, b, email, password, ""), 303)

	res := do(t, b, "GET", s.kratos()+"/self-service/settings/browser", nil)
	wantStatus(t, res, 303)
	res = do(t, b, "GET", res.Header.Get("Location"), nil)
	wantStatus(t, res, 200)
	page := string(res.body)
	if !strings.Contains(page, "Your devices") || !strings.Contains(page, "This device") || !strings.Contains(page, "Sign out all other devices") {
		t.Fatalf("no devices section:\n%s", page)
	}
	m := regexp.MustCompile(`(?s)<form id="device-` + otherID + `" method="post" action="([^"]+)">(.*?)</form>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-out form for %s:\n%s", otherID, page)
	}
	values := url.Values{}
	for _, in := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(m[2], -1) {
		values.Set(in[1], html.UnescapeString(in[2]))
	}
	// Without the CSRF token: refused.
	forged := url.Values{"session_id": {otherID}}
	wantStatus(t, do(t, b, "POST", html.UnescapeString(m[1]), forged), 403)
	wantStatus(t, do(t, browser(t), "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", other), 200)

	res = do(t, b, "POST", html.UnescapeString(m[1]), values)
	wantStatus(t, res, 303)
	if loc := res.Header.Get("Location"); !strings.Contains(loc, "/ui/settings?flow="+values.Get("flow")) {
		t.Errorf("after signing out a device: Location %q, want the settings page", loc)
	}
	wantStatus(t, do(t, browser(t), "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", other), 401)
	wantStatus(t, do(t, b, "GET", s.kratos()+"/sessions/whoami", nil), 200)
}
