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

// TestSettingsSeed003 replays seed 003's JavaScript as raw HTTP: an API
// settings flow with a bearer token, a JSON profile submit, state success,
// message 1050001 and the updated traits in identity.
func TestSettingsSeed003(t *testing.T) {
	s := startSite(t, "")
	token, _ := registerAPI(t, s, "grace@example.com", "a long enough secret")
	c := browser(t)

	res := do(t, c, "GET", s.kratos()+"/self-service/settings/api", nil, "Accept", "application/json", "Authorization", "bearer "+token)
	wantStatus(t, res, 200)
	flow := res.json(t)
	if flow["type"] != "api" || flow["state"] != "show_form" || get(flow, "identity", "traits", "email") != "grace@example.com" {
		t.Fatalf("flow: %s", res.body)
	}
	action := get(flow, "ui", "action").(string)

	res = do(t, c, "POST", action, `{"method":"profile","traits":{"email":"grace@example.com","name":{"first":"Grace","last":"Brewster"}}}`,
		"Accept", "application/json", "Authorization", "bearer "+token)
	wantStatus(t, res, 200)
	m := res.json(t)
	if m["state"] != "success" || get(m, "ui", "messages", 0, "id") != float64(1050001) || get(m, "ui", "messages", 0, "text") != "Your changes have been saved!" {
		t.Fatalf("submit: %s", res.body)
	}
	if get(m, "identity", "traits", "name", "last") != "Brewster" {
		t.Fatalf("identity not updated: %s", res.body)
	}
	who := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token)
	if get(who.json(t), "identity", "traits", "name", "last") != "Brewster" {
		t.Fatalf("whoami: %s", who.body)
	}

	t.Run("validation error on the node", func(t *testing.T) {
		res := do(t, c, "POST", action, `{"method":"profile","traits":{"email":"grace@example.com","name":{"first":"abc"}}}`, "X-Session-Token", token)
		wantStatus(t, res, 400)
		n := node(res.json(t), "traits.name.first")
		if get(n, "messages", 0, "id") != float64(4000003) || get(n, "messages", 0, "text") != "length must be >= 5, but got 3" {
			t.Fatalf("node: %v", n)
		}
	})
	t.Run("no changes", func(t *testing.T) {
		res := do(t, c, "POST", action, `{"method":"profile","traits":{}}`, "X-Session-Token", token)
		wantStatus(t, res, 400)
		if get(res.json(t), "ui", "messages", 0, "text") != "Did not receive any value changes." {
			t.Fatalf("%s", res.body)
		}
	})
	t.Run("another identity", func(t *testing.T) {
		other, _ := registerAPI(t, s, "other@example.com", "a long enough secret")
		res := do(t, c, "GET", s.kratos()+"/self-service/settings/flows?id="+flow["id"].(string), nil, "X-Session-Token", other, "Accept", "application/json")
		wantStatus(t, res, 403)
		if get(res.json(t), "error", "id") != "security_identity_mismatch" {
			t.Fatalf("%s", res.body)
		}
		res = do(t, c, "POST", action, `{"method":"profile","traits":{"email":"other@example.com"}}`, "X-Session-Token", other)
		wantStatus(t, res, 403)
	})
	t.Run("no session", func(t *testing.T) {
		res := do(t, c, "POST", action, `{"method":"profile","traits":{"email":"x@example.com"}}`)
		wantStatus(t, res, 401)
	})
	t.Run("identifier collision", func(t *testing.T) {
		res := do(t, c, "POST", action, `{"method":"profile","traits":{"email":"other@example.com"}}`, "X-Session-Token", token)
		wantStatus(t, res, 400)
		if get(res.json(t), "ui", "messages", 0, "id") != float64(4000007) {
			t.Fatalf("%s", res.body)
		}
	})
}

// TestSettingsBrowserRefresh: a plain browser form changing the email on an
// old session is paused, sent to a refresh login, and applied after it.
func TestSettingsBrowserRefresh(t *testing.T) {
	s := startSite(t, "privileged_session_max_age 10m")
	registerAPI(t, s, "linus@example.com", "a long enough secret")
	c := browser(t)
	wantStatus(t, loginBrowser(t, s, c, "linus@example.com", "a long enough secret", ""), 303)
	t.Cleanup(caddymodule.AdvanceClockForTest(11 * time.Minute)) // age the session past privileged_session_max_age

	init := do(t, c, "GET", s.kratos()+"/self-service/settings/browser", nil)
	wantStatus(t, init, 303)
	loc, _ := url.Parse(init.Header.Get("Location"))
	id := loc.Query().Get("flow")
	flowRes := do(t, c, "GET", s.kratos()+"/self-service/settings/flows?id="+id, nil, "Accept", "application/json")
	wantStatus(t, flowRes, 200)
	flow := flowRes.json(t)
	form := url.Values{"method": {"profile"}, "csrf_token": {csrfOf(t, flow)}, "traits.email": {"linus@kernel.example"}, "traits.name.first": {"Linus"}}

	// A plain name change needs no privilege.
	res := do(t, c, "POST", get(flow, "ui", "action").(string), url.Values{"method": {"profile"}, "csrf_token": {csrfOf(t, flow)},
		"traits.email": {"linus@example.com"}, "traits.name.first": {"Linus"}})
	wantStatus(t, res, 303)

	// The SPA form of the same change answers 403 with where to go.
	spa := do(t, c, "POST", get(flow, "ui", "action").(string), form, "Accept", "application/json")
	wantStatus(t, spa, 403)
	m := spa.json(t)
	if get(m, "error", "id") != "session_refresh_required" || !strings.Contains(fmt.Sprint(m["redirect_browser_to"]), "refresh=true") {
		t.Fatalf("spa: %s", spa.body)
	}

	res = do(t, c, "POST", get(flow, "ui", "action").(string), form)
	wantStatus(t, res, 303)
	to, _ := url.Parse(res.Header.Get("Location"))
	if to.Path != "/.ory/kratos/public/self-service/login/browser" || to.Query().Get("refresh") != "true" || !strings.Contains(to.Query().Get("return_to"), "flow="+id) {
		t.Fatalf("pause redirect: %s", res.Header.Get("Location"))
	}
	// Not changed yet.
	who := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil)
	if get(who.json(t), "identity", "traits", "email") != "linus@example.com" {
		t.Fatalf("changed before re-authentication: %s", who.body)
	}
	res = loginBrowser(t, s, c, "", "a long enough secret", "?"+to.RawQuery)
	wantStatus(t, res, 303)
	// The login's return_to, the public settings endpoint, applies it.
	wantStatus(t, do(t, c, "GET", res.Header.Get("Location"), nil), 303)
	who = do(t, c, "GET", s.kratos()+"/sessions/whoami", nil)
	if get(who.json(t), "identity", "traits", "email") != "linus@kernel.example" {
		t.Fatalf("paused change not applied after refresh: %s", who.body)
	}
	after := do(t, c, "GET", s.kratos()+"/self-service/settings/flows?id="+id, nil, "Accept", "application/json")
	if after.json(t)["state"] != "success" {
		t.Fatalf("flow after resume: %s", after.body)
	}
	_ = http.StatusOK
}
