package integration

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

// loginAPI signs in through the API flow and returns the session token.
func loginAPI(t *testing.T, s *site, identifier, password string) string {
	t.Helper()
	c := browser(t)
	flow := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil)
	res := do(t, c, "POST", get(flow.json(t), "ui", "action").(string),
		fmt.Sprintf(`{"method":"password","identifier":%q,"password":%q}`, identifier, password))
	wantStatus(t, res, 200)
	return res.json(t)["session_token"].(string)
}

// settingsAPI starts an API settings flow and returns it.
func settingsAPI(t *testing.T, s *site, token string) map[string]any {
	t.Helper()
	res := do(t, browser(t), "GET", s.kratos()+"/self-service/settings/api", nil, "X-Session-Token", token)
	wantStatus(t, res, 200)
	return res.json(t)
}

func TestSettingsPasswordMethod(t *testing.T) {
	s := startSite(t, "")
	tokenA, _ := registerAPI(t, s, "pw@example.com", "the first secret")
	tokenB := loginAPI(t, s, "pw@example.com", "the first secret")
	flow := settingsAPI(t, s, tokenA)
	action := get(flow, "ui", "action").(string)
	c := browser(t)

	res := do(t, c, "POST", action, `{"method":"password","password":"short"}`, "X-Session-Token", tokenA)
	wantStatus(t, res, 400)
	if get(node(res.json(t), "password"), "messages", 0, "id") != float64(4000032) {
		t.Fatalf("short password: %s", res.body)
	}
	res = do(t, c, "POST", action, `{"method":"password","password":"pw@example.com1"}`, "X-Session-Token", tokenA)
	wantStatus(t, res, 400)
	if get(node(res.json(t), "password"), "messages", 0, "id") != float64(4000031) {
		t.Fatalf("password like the identifier: %s", res.body)
	}
	res = do(t, c, "POST", action, `{"method":"password","password":"a brand new secret"}`, "X-Session-Token", tokenA)
	wantStatus(t, res, 200)
	if res.json(t)["state"] != "success" {
		t.Fatalf("%s", res.body)
	}
	wantStatus(t, do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", tokenA), 200)
	wantStatus(t, do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", tokenB), 401)
	loginAPI(t, s, "pw@example.com", "a brand new secret")
	flowL := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil)
	old := do(t, c, "POST", get(flowL.json(t), "ui", "action").(string), `{"method":"password","identifier":"pw@example.com","password":"the first secret"}`)
	wantStatus(t, old, 400)
}

// readOnlySchema is a modern (wrapped) schema with a read-only trait.
const readOnlySchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {"type": "string", "format": "email", "title": "E-Mail",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "email"}}},
        "name": {"type": "string", "title": "Name"},
        "plan": {"type": "string", "title": "Plan", "readOnly": true}
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}`

func TestSettingsReadOnlyAndConflicts(t *testing.T) {
	s := startSiteWithSchema(t, readOnlySchema, "")
	c := browser(t)
	created := do(t, c, "POST", s.admin+"/admin/identities",
		`{"schema_id":"default","traits":{"email":"ro@example.com","name":"Ro","plan":"pro"},"credentials":{"password":{"config":{"password":"a long enough secret"}}}}`)
	wantStatus(t, created, 201)
	token := loginAPI(t, s, "ro@example.com", "a long enough secret")

	flow := settingsAPI(t, s, token)
	if get(node(flow, "traits.plan"), "attributes", "disabled") != true {
		t.Fatalf("read-only trait not disabled: %v", node(flow, "traits.plan"))
	}
	action := get(flow, "ui", "action").(string)
	res := do(t, c, "POST", action, `{"method":"profile","traits":{"email":"ro@example.com","name":"Ro","plan":"free"}}`, "X-Session-Token", token)
	wantStatus(t, res, 400)
	if len(get(node(res.json(t), "traits.plan"), "messages").([]any)) == 0 {
		t.Fatalf("read-only change accepted: %s", res.body)
	}
	// Leaving the read-only trait out (browsers do not send disabled
	// inputs) keeps it.
	res = do(t, c, "POST", action, `{"method":"profile","traits":{"email":"ro@example.com","name":"Roberta"}}`, "X-Session-Token", token)
	wantStatus(t, res, 200)
	if get(res.json(t), "identity", "traits", "plan") != "pro" || get(res.json(t), "identity", "traits", "name") != "Roberta" {
		t.Fatalf("after save: %s", res.body)
	}

	// Two flows from the same version: the second submit is a conflict
	// that shows the newer values and then goes through.
	first, second := settingsAPI(t, s, token), settingsAPI(t, s, token)
	res = do(t, c, "POST", get(first, "ui", "action").(string), `{"method":"profile","traits":{"email":"ro@example.com","name":"First"}}`, "X-Session-Token", token)
	wantStatus(t, res, 200)
	res = do(t, c, "POST", get(second, "ui", "action").(string), `{"method":"profile","traits":{"email":"ro@example.com","name":"Second"}}`, "X-Session-Token", token)
	wantStatus(t, res, 409)
	m := res.json(t)
	if get(node(m, "traits.name"), "attributes", "value") != "First" || !strings.Contains(fmt.Sprint(get(m, "ui", "messages", 0, "text")), "changed elsewhere") {
		t.Fatalf("conflict: %s", res.body)
	}
	who := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token)
	if get(who.json(t), "identity", "traits", "name") != "First" {
		t.Fatalf("conflict overwrote: %s", who.body)
	}
	res = do(t, c, "POST", get(second, "ui", "action").(string), `{"method":"profile","traits":{"email":"ro@example.com","name":"Second"}}`, "X-Session-Token", token)
	wantStatus(t, res, 200)

	// The admin API may change the read-only trait.
	id := get(created.json(t), "id").(string)
	res = do(t, c, "PATCH", s.admin+"/admin/identities/"+id, `[{"op":"replace","path":"/traits/plan","value":"free"}]`)
	wantStatus(t, res, 200)
	if get(res.json(t), "traits", "plan") != "free" {
		t.Fatalf("admin patch: %s", res.body)
	}
}

func TestSettingsSPAAndExpiry(t *testing.T) {
	s := startSite(t, "flow_lifespan 10m")
	registerAPI(t, s, "spa@example.com", "a long enough secret")
	c := browser(t)
	wantStatus(t, loginBrowser(t, s, c, "spa@example.com", "a long enough secret", ""), 303)

	// SPA: JSON with cookies and the CSRF token from the flow.
	init := do(t, c, "GET", s.kratos()+"/self-service/settings/browser?return_to=/account", nil, "Accept", "application/json")
	wantStatus(t, init, 200)
	flow := init.json(t)
	body := fmt.Sprintf(`{"method":"profile","csrf_token":%q,"traits":{"email":"spa@example.com","name":{"first":"Single","last":"Page"}}}`, csrfOf(t, flow))
	res := do(t, c, "POST", get(flow, "ui", "action").(string), body, "Accept", "application/json")
	wantStatus(t, res, 200)
	m := res.json(t)
	if m["state"] != "success" || get(m, "continue_with", 0, "action") != "redirect_browser_to" || get(m, "continue_with", 0, "redirect_browser_to") != s.public+"/account" {
		t.Fatalf("spa success: %s", res.body)
	}
	noCSRF := do(t, c, "POST", get(flow, "ui", "action").(string), `{"method":"profile","traits":{"email":"spa@example.com"}}`, "Accept", "application/json")
	wantStatus(t, noCSRF, 403)

	// Legacy request and settings flow, both expired.
	legacyInit := do(t, c, "GET", s.kratos()+"/self-service/browser/flows/profile", nil)
	wantStatus(t, legacyInit, 302)
	loc, _ := url.Parse(legacyInit.Header.Get("Location"))
	reqID := loc.Query().Get("request")
	legacy := do(t, c, "GET", s.kratos()+"/self-service/browser/flows/requests/profile?request="+reqID, nil).json(t)
	legacyCSRF := get(legacy, "form", "fields", "csrf_token", "value").(string)
	apiToken := loginAPI(t, s, "spa@example.com", "a long enough secret")
	apiFlow := settingsAPI(t, s, apiToken)
	t.Cleanup(caddymodule.AdvanceClockForTest(11 * time.Minute)) // past flow_lifespan: both expire

	res = do(t, c, "POST", get(legacy, "form", "action").(string), url.Values{"csrf_token": {legacyCSRF}, "traits.name.first": {"Later"}}, "Accept", "application/json")
	wantStatus(t, res, 410)
	if msg := fmt.Sprint(get(res.json(t), "form", "errors", 0, "message")); !strings.HasPrefix(msg, "The profile request expired") {
		t.Fatalf("legacy expired: %s", res.body)
	}
	api := browser(t) // API clients send no cookies
	res = do(t, api, "POST", get(apiFlow, "ui", "action").(string), `{"method":"profile","traits":{"email":"spa@example.com"}}`, "X-Session-Token", apiToken)
	wantStatus(t, res, 410)
	m = res.json(t)
	if get(m, "error", "id") != "self_service_flow_expired" || m["use_flow_id"] == nil {
		t.Fatalf("settings expired: %s", res.body)
	}
	next := do(t, api, "GET", s.kratos()+"/self-service/settings/flows?id="+m["use_flow_id"].(string), nil, "X-Session-Token", apiToken)
	wantStatus(t, next, 200)
	if get(next.json(t), "ui", "messages", 0, "id") != float64(4050001) {
		t.Fatalf("replacement: %s", next.body)
	}
	old := do(t, api, "GET", s.kratos()+"/self-service/settings/flows?id="+apiFlow["id"].(string), nil, "X-Session-Token", apiToken)
	wantStatus(t, old, 410)
	who := do(t, api, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", apiToken)
	if get(who.json(t), "identity", "traits", "name", "first") != "Single" {
		t.Fatalf("expired submit changed traits: %s", who.body)
	}
}
