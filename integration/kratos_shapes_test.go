package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

// Answers that Ory's SDKs and UIs depend on, through a real Caddy on Redis
// and on the memory store (docs/api.md has each).
func TestKratosShapes(t *testing.T) {
	for _, store := range []struct {
		name  string
		start func(testing.TB, string) *site
	}{{"redis", startSite}, {"memory", startSiteMemory}} {
		t.Run(store.name, func(t *testing.T) {
			s := store.start(t, "privileged_session_max_age 10m")
			t.Run("login flow", func(t *testing.T) { checkLoginFlowShape(t, s) })
			t.Run("API flow refuses browser marks", func(t *testing.T) { checkAPIFlowRefusal(t, s) })
			t.Run("refresh through the settings endpoint", func(t *testing.T) { checkRefreshThroughSettings(t, s) })
			t.Run("legacy profile refusals", func(t *testing.T) { checkLegacyRefusals(t, s) })
			t.Run("settings submit errors with the flow", func(t *testing.T) { checkSettingsSubmitErrors(t, s) })
			t.Run("health and version", func(t *testing.T) { checkHealth(t, s) })
		})
	}
}

// A new login flow is in choose_method, its identifier labelled with the
// schema's title (the seed schema's "E-Mail") and autocomplete "email".
func checkLoginFlowShape(t *testing.T, s *site) {
	for _, init := range []string{"/self-service/login/api", "/self-service/login/browser"} {
		f := do(t, browser(t), "GET", s.kratos()+init, nil, "Accept", "application/json").json(t)
		id := node(f, "identifier")
		if f["state"] != "choose_method" || get(id, "meta", "label", "id") != float64(1070002) ||
			get(id, "meta", "label", "text") != "E-Mail" || get(id, "meta", "label", "context", "title") != "E-Mail" ||
			get(id, "attributes", "autocomplete") != "email" {
			t.Errorf("%s: state %v, identifier %v", init, f["state"], id)
		}
	}
}

// An API flow submit with an Origin header or a cookie: 400 with the flow
// and message 4000001; no session is issued.
func checkAPIFlowRefusal(t *testing.T, s *site) {
	email := fmt.Sprintf("origin-%d@example.com", time.Now().UnixNano())
	registerAPI(t, s, email, "a long enough secret")
	for _, h := range [][2]string{{"Origin", s.public}, {"Cookie", "ory_kratos_session=x"}} {
		f := do(t, browser(t), "GET", s.kratos()+"/self-service/login/api", nil).json(t)
		res := do(t, browser(t), "POST", get(f, "ui", "action").(string),
			fmt.Sprintf(`{"method":"password","identifier":%q,"password":"a long enough secret"}`, email), h[0], h[1])
		wantStatus(t, res, 400)
		m := res.json(t)
		if m["id"] != f["id"] || get(m, "ui", "messages", 0, "id") != float64(4000001) ||
			!strings.Contains(get(m, "ui", "messages", 0, "text").(string), `included the "`+h[0]+`" key`) || m["session_token"] != nil {
			t.Errorf("%s: %s", h[0], res.body)
		}
	}
}

// A protected change on an old session goes through a refresh login whose
// return_to is the public settings endpoint; landing there applies the
// paused browser change and shows the flow, now success, in the UI.
func checkRefreshThroughSettings(t *testing.T, s *site) {
	email := fmt.Sprintf("refresh-%d@example.com", time.Now().UnixNano())
	registerAPI(t, s, email, "a long enough secret")
	c := browser(t)
	wantStatus(t, loginBrowser(t, s, c, email, "a long enough secret", ""), 303)
	init := do(t, c, "GET", s.kratos()+"/self-service/settings/browser", nil)
	wantStatus(t, init, 303)
	loc, _ := url.Parse(init.Header.Get("Location"))
	flowID := loc.Query().Get("flow")
	f := do(t, c, "GET", s.kratos()+"/self-service/settings/flows?id="+flowID, nil).json(t)
	restore := caddymodule.AdvanceClockForTest(11 * time.Minute)
	defer restore()

	endpoint := s.kratos() + "/self-service/settings?flow=" + flowID
	refresh := s.kratos() + "/self-service/login/browser?refresh=true&return_to=" + url.QueryEscape(endpoint)
	// An SPA gets the same URL in the 403.
	spa := do(t, c, "POST", get(f, "ui", "action").(string),
		fmt.Sprintf(`{"method":"profile","csrf_token":%q,"traits":{"email":"spa-%s"}}`, csrfOf(t, f), email), "Accept", "application/json")
	wantStatus(t, spa, 403)
	if m := spa.json(t); get(m, "error", "id") != "session_refresh_required" || m["redirect_browser_to"] != refresh {
		t.Fatalf("SPA: %s", spa.body)
	}
	newEmail := "new-" + email
	paused := do(t, c, "POST", get(f, "ui", "action").(string), url.Values{
		"method": {"profile"}, "csrf_token": {csrfOf(t, f)}, "traits.email": {newEmail},
	})
	wantStatus(t, paused, 303)
	if got := paused.Header.Get("Location"); got != refresh {
		t.Fatalf("paused to %s, want %s", got, refresh)
	}
	login := loginBrowser(t, s, c, email, "a long enough secret", "?refresh=true&return_to="+url.QueryEscape(endpoint))
	wantStatus(t, login, 303)
	if got := login.Header.Get("Location"); got != endpoint {
		t.Fatalf("after the refresh login: to %s, want %s", got, endpoint)
	}
	back := do(t, c, "GET", endpoint, nil)
	wantStatus(t, back, 303)
	if got := back.Header.Get("Location"); got != s.kratos()+"/ui/settings?flow="+flowID {
		t.Fatalf("the settings endpoint sent the browser to %s", got)
	}
	done := do(t, c, "GET", s.kratos()+"/self-service/settings/flows?id="+flowID, nil).json(t)
	if done["state"] != "success" || get(done, "identity", "traits", "email") != newEmail {
		t.Fatalf("after the refresh: %v %v", done["state"], get(done, "identity", "traits"))
	}
	// Without a paused change, the endpoint only shows the flow.
	again := do(t, c, "GET", endpoint, nil)
	wantStatus(t, again, 303)
	if again.Header.Get("Location") != s.kratos()+"/ui/settings?flow="+flowID {
		t.Fatalf("again: %s", again.Header.Get("Location"))
	}
}

// The legacy profile API refuses a plain form post without a valid CSRF
// token, or from another identity's session, with 403 itself (no error UI),
// and changes nothing.
func checkLegacyRefusals(t *testing.T, s *site) {
	owner := fmt.Sprintf("owner-%d@example.com", time.Now().UnixNano())
	other := "other-" + owner
	registerAPI(t, s, owner, "a long enough secret")
	registerAPI(t, s, other, "a long enough secret")
	c, o := browser(t), browser(t)
	wantStatus(t, loginBrowser(t, s, c, owner, "a long enough secret", ""), 303)
	wantStatus(t, loginBrowser(t, s, o, other, "a long enough secret", ""), 303)
	init := do(t, c, "GET", s.kratos()+"/self-service/browser/flows/profile", nil)
	wantStatus(t, init, 302)
	loc, _ := url.Parse(init.Header.Get("Location"))
	reqID := loc.Query().Get("request")
	action := s.kratos() + "/self-service/browser/flows/profile/update?request=" + reqID
	change := url.Values{"traits.email": {owner}, "traits.name.first": {"Mallory"}}

	for _, csrf := range []string{"", "bm90IHRoZSB0b2tlbg=="} {
		form := url.Values{"traits.email": change["traits.email"], "traits.name.first": change["traits.name.first"]}
		if csrf != "" {
			form.Set("csrf_token", csrf)
		}
		res := do(t, c, "POST", action, form)
		wantStatus(t, res, http.StatusForbidden)
		if get(res.json(t), "error", "id") != "security_csrf_violation" {
			t.Errorf("csrf %q: %s", csrf, res.body)
		}
	}
	// The other identity's own CSRF token, with its own cookies.
	otherFlow := do(t, o, "GET", s.kratos()+"/self-service/settings/browser", nil, "Accept", "application/json").json(t)
	form := url.Values{"csrf_token": {csrfOf(t, otherFlow)}, "traits.email": change["traits.email"], "traits.name.first": change["traits.name.first"]}
	res := do(t, o, "POST", action, form)
	wantStatus(t, res, http.StatusForbidden)
	if get(res.json(t), "error", "id") != "security_identity_mismatch" {
		t.Errorf("another identity: %s", res.body)
	}
	req := do(t, browser(t), "GET", s.admin+"/self-service/browser/flows/requests/profile?request="+reqID, nil).json(t)
	if get(req, "identity", "traits", "name", "first") != "Grace" || get(req, "update_successful") != false {
		t.Errorf("the request changed: %v", req)
	}
}

// A settings submit without a known method, or a profile submit without
// traits, answers 400 with the flow and Kratos' messages.
func checkSettingsSubmitErrors(t *testing.T, s *site) {
	token, _ := registerAPI(t, s, fmt.Sprintf("settings-errors-%d@example.com", time.Now().UnixNano()), "a long enough secret")
	f := do(t, browser(t), "GET", s.kratos()+"/self-service/settings/api", nil, "X-Session-Token", token).json(t)
	action := get(f, "ui", "action").(string)
	for _, body := range []string{`{}`, `{"method":"webauthn"}`} {
		res := do(t, browser(t), "POST", action, body, "X-Session-Token", token)
		wantStatus(t, res, http.StatusBadRequest)
		if m := res.json(t); m["id"] != f["id"] || get(m, "ui", "messages", 0, "id") != float64(4010004) {
			t.Errorf("%s: %s", body, res.body)
		}
	}
	res := do(t, browser(t), "POST", action, `{"method":"profile"}`, "X-Session-Token", token)
	wantStatus(t, res, http.StatusBadRequest)
	if msgs := get(node(res.json(t), "traits.email"), "messages"); get(msgs, 0, "id") != float64(4000002) {
		t.Errorf("profile without traits: %s", res.body)
	}
}

// Health and version answer on the public prefix and the admin handler.
func checkHealth(t *testing.T, s *site) {
	for _, u := range []string{s.kratos() + "/health/alive", s.kratos() + "/health/ready", s.admin + "/admin/health/alive", s.admin + "/admin/health/ready"} {
		res := do(t, browser(t), "GET", u, nil)
		wantStatus(t, res, http.StatusOK)
		if res.json(t)["status"] != "ok" {
			t.Errorf("%s: %s", u, res.body)
		}
	}
	res := do(t, browser(t), "GET", s.admin+"/admin/version", nil)
	wantStatus(t, res, http.StatusOK)
	if v, _ := res.json(t)["version"].(string); v == "" {
		t.Errorf("version: %s", res.body)
	}
}
