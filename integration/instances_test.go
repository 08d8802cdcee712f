package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// haPrivileged is privileged_session_max_age in TestSeveralInstancesShareState:
// short, because the Caddy processes' clocks cannot be advanced from the
// test, so the test waits it out once, to pause a protected change.
const haPrivileged = 2 * time.Second

// Three Caddy processes on one Redis Cluster, behind one public origin,
// are one site: whatever one instance does, the next request sees on any
// other.
func TestSeveralInstancesShareState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Caddy and starts three Caddy processes on a Redis Cluster; skipped with -short")
	}
	seeds := redistest.StartCluster(t, 3)
	f := newFront(t)
	store := fmt.Sprintf("redis {\n\t\t\taddrs %s\n\t\t\tkey_prefix ha%d\n\t\t}", strings.Join(seeds, " "), time.Now().UnixNano())
	extra := fmt.Sprintf("public_url %s\n\t\tprivileged_session_max_age %s", f.origin, haPrivileged)
	a := startInstance(t, "A", store, extra)
	b := startInstance(t, "B", store, extra)
	c := startInstance(t, "C", store, extra)
	s := f.site()
	email := fmt.Sprintf("ha-%d@example.com", time.Now().UnixNano())
	const password = "a long enough secret"

	// A session created on A works on B and C: its token, its cookie, and
	// the identity headers each instance gives its app.
	f.use(a)
	api := f.client()
	token, identityID := registerAPIVia(t, s, api, email, password)
	br := f.client()
	wantStatus(t, loginBrowser(t, s, br, email, password, ""), http.StatusSeeOther)
	cookie := frontCookie(t, f, br, "ory_kratos_session")
	for _, i := range []*instance{b, c} {
		f.use(i)
		for what, res := range map[string]*response{
			"cookie": do(t, br, "GET", s.kratos()+"/sessions/whoami", nil),
			"token":  do(t, api, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token),
		} {
			wantStatus(t, res, http.StatusOK)
			if got := get(res.json(t), "identity", "id"); got != identityID {
				t.Fatalf("whoami on %s with the %s from A: identity %v, want %s", i.name, what, got, identityID)
			}
		}
		do(t, br, "GET", s.public+"/app/session", nil)
		if id, _, _ := identityOf(t, i.app.last("/app/session")); id != identityID {
			t.Fatalf("the app behind %s got identity %q for the session from A, want %s", i.name, id, identityID)
		}
	}

	// A browser settings flow created on A is fetched on B and submitted
	// on C, with the CSRF token B rendered.
	f.use(a)
	flowID := settingsFlowBrowser(t, s, br)
	f.use(b)
	flow := do(t, br, "GET", s.kratos()+"/self-service/settings/flows?id="+flowID, nil)
	wantStatus(t, flow, http.StatusOK)
	fetched := flow.json(t)
	f.use(c)
	submit := do(t, br, "POST", get(fetched, "ui", "action").(string), url.Values{
		"method": {"profile"}, "csrf_token": {csrfOf(t, fetched)},
		"traits.email": {email}, "traits.name.first": {"Grace"}, "traits.name.last": {"From C"},
	})
	wantStatus(t, submit, http.StatusSeeOther)
	if want := s.kratos() + "/ui/settings?flow=" + flowID; submit.Header.Get("Location") != want {
		t.Fatalf("the submit on C sent the browser to %s, want %s", submit.Header.Get("Location"), want)
	}
	f.use(a)
	done := do(t, br, "GET", s.kratos()+"/self-service/settings/flows?id="+flowID, nil).json(t)
	if done["state"] != "success" || get(done, "identity", "traits", "name", "last") != "From C" {
		t.Fatalf("the flow on A after the submit on C: state %v, traits %v", done["state"], get(done, "identity", "traits"))
	}

	// A profile change on B reaches the identity headers A gives its app
	// on the very next request.
	f.use(b)
	apiFlow := do(t, api, "GET", s.kratos()+"/self-service/settings/api", nil, "X-Session-Token", token)
	wantStatus(t, apiFlow, http.StatusOK)
	changed := do(t, api, "POST", get(apiFlow.json(t), "ui", "action").(string),
		fmt.Sprintf(`{"method":"profile","traits":{"email":%q,"name":{"first":"Grace","last":"From B"}}}`, email),
		"X-Session-Token", token)
	wantStatus(t, changed, http.StatusOK)
	f.use(a)
	do(t, api, "GET", s.public+"/app/after-b", nil, "X-Session-Token", token)
	if _, _, traits := identityOf(t, a.app.last("/app/after-b")); get(traits, "name", "last") != "From B" {
		t.Fatalf("the app behind A got traits %v right after the change on B, want name.last \"From B\"", traits)
	}

	// A protected change made on A by a session past
	// privileged_session_max_age is paused; the refresh login on B applies
	// it, and C and A see the result.
	f.use(a)
	who := do(t, br, "GET", s.kratos()+"/sessions/whoami", nil).json(t)
	until, err := time.Parse(time.RFC3339Nano, fmt.Sprint(who["privileged_until"]))
	if err != nil {
		t.Fatalf("whoami privileged_until: %v", err)
	}
	time.Sleep(time.Until(until) + 100*time.Millisecond) // the one wait: the processes' clocks are real
	flowID = settingsFlowBrowser(t, s, br)
	paused := do(t, br, "GET", s.kratos()+"/self-service/settings/flows?id="+flowID, nil).json(t)
	newEmail := "new-" + email
	pause := do(t, br, "POST", get(paused, "ui", "action").(string), url.Values{
		"method": {"profile"}, "csrf_token": {csrfOf(t, paused)},
		"traits.email": {newEmail}, "traits.name.first": {"Grace"}, "traits.name.last": {"From B"},
	})
	endpoint := s.kratos() + "/self-service/settings?flow=" + flowID
	refresh := s.kratos() + "/self-service/login/browser?refresh=true&return_to=" + url.QueryEscape(endpoint)
	wantStatus(t, pause, http.StatusSeeOther)
	if got := pause.Header.Get("Location"); got != refresh {
		t.Fatalf("the protected change on A went to %s, want the refresh login %s", got, refresh)
	}
	frontCookie(t, f, br, "ory_kratos_continuity")
	f.use(b)
	login := loginBrowser(t, s, br, email, password, "?refresh=true&return_to="+url.QueryEscape(endpoint))
	wantStatus(t, login, http.StatusSeeOther)
	if got := login.Header.Get("Location"); got != endpoint {
		t.Fatalf("the refresh login on B sent the browser to %s, want %s", got, endpoint)
	}
	back := do(t, br, "GET", endpoint, nil)
	wantStatus(t, back, http.StatusSeeOther)
	f.use(c)
	applied := do(t, br, "GET", s.kratos()+"/self-service/settings/flows?id="+flowID, nil).json(t)
	if applied["state"] != "success" || get(applied, "identity", "traits", "email") != newEmail {
		t.Fatalf("the paused flow on C after the refresh login on B: state %v, traits %v", applied["state"], get(applied, "identity", "traits"))
	}
	f.use(a)
	if got := get(do(t, br, "GET", s.kratos()+"/sessions/whoami", nil).json(t), "identity", "traits", "email"); got != newEmail {
		t.Fatalf("whoami on A after the change replayed on B: email %v, want %s", got, newEmail)
	}

	// A logout on C, of the browser and of the token, is seen at once on A.
	f.use(c)
	logout := do(t, br, "GET", s.kratos()+"/self-service/logout/browser", nil, "Accept", "application/json")
	wantStatus(t, logout, http.StatusOK)
	wantStatus(t, do(t, br, "GET", logout.json(t)["logout_url"].(string), nil, "Accept", "application/json"), http.StatusNoContent)
	wantStatus(t, do(t, api, "DELETE", s.kratos()+"/self-service/logout/api", fmt.Sprintf(`{"session_token":%q}`, token)), http.StatusNoContent)
	f.use(a)
	for what, tok := range map[string]string{"browser session": cookie, "token": token} {
		wantStatus(t, do(t, api, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", tok), http.StatusUnauthorized)
		do(t, api, "GET", s.public+"/app/after-logout", nil, "X-Session-Token", tok)
		wantNoIdentity(t, "the app behind A after the logout on C of the "+what, a.app.last("/app/after-logout"))
	}
}

// registerAPIVia signs up through the API flow with client c and returns
// the session token and the identity id.
func registerAPIVia(t testing.TB, s *site, c *http.Client, email, password string) (token, id string) {
	t.Helper()
	flow := do(t, c, "GET", s.kratos()+"/self-service/registration/api", nil)
	wantStatus(t, flow, http.StatusOK)
	res := do(t, c, "POST", get(flow.json(t), "ui", "action").(string),
		fmt.Sprintf(`{"method":"password","password":%q,"traits":{"email":%q,"name":{"first":"Grace","last":"Hopper"}}}`, password, email))
	wantStatus(t, res, http.StatusOK)
	m := res.json(t)
	token, _ = m["session_token"].(string)
	id, _ = get(m, "identity", "id").(string)
	if token == "" || id == "" {
		t.Fatalf("registration: %s", res.body)
	}
	return token, id
}

// settingsFlowBrowser starts a browser settings flow and returns its id.
func settingsFlowBrowser(t *testing.T, s *site, c *http.Client) string {
	t.Helper()
	init := do(t, c, "GET", s.kratos()+"/self-service/settings/browser", nil)
	wantStatus(t, init, http.StatusSeeOther)
	loc, err := url.Parse(init.Header.Get("Location"))
	if err != nil || loc.Query().Get("flow") == "" {
		t.Fatalf("settings init sent the browser to %q", init.Header.Get("Location"))
	}
	return loc.Query().Get("flow")
}

// frontCookie returns the value of the front's cookie name in c's jar.
func frontCookie(t *testing.T, f *front, c *http.Client, name string) string {
	t.Helper()
	u, _ := url.Parse(f.origin)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == name && k.Value != "" {
			return k.Value
		}
	}
	t.Fatalf("the browser has no %s cookie", name)
	return ""
}
