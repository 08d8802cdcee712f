package integration

import (
	"net/url"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

// TestExpiredFlowsAndIfMatch covers the error rows that need time or the
// admin API: an expired login flow answers 410 with a replacement flow, and
// an admin update with a stale If-Match answers 412 and changes nothing.
func TestExpiredFlowsAndIfMatch(t *testing.T) {
	s := startSite(t, "flow_lifespan 10m")
	_, reg := registerAPI(t, s, "eve@example.com", "a long enough secret")
	id := get(reg, "identity", "id").(string)
	c := browser(t)

	flow := do(t, c, "GET", s.kratos()+"/self-service/login/api", nil)
	wantStatus(t, flow, 200)
	f := flow.json(t)
	spa := browser(t)
	spaFlow := do(t, spa, "GET", s.kratos()+"/self-service/login/browser?return_to=/account", nil, "Accept", "application/json")
	wantStatus(t, spaFlow, 200)
	t.Cleanup(caddymodule.AdvanceClockForTest(11 * time.Minute)) // past flow_lifespan: the flows expire

	// The expired flow's fetch says where to start again, return_to kept.
	gone := do(t, spa, "GET", s.kratos()+"/self-service/login/flows?id="+spaFlow.json(t)["id"].(string), nil)
	wantStatus(t, gone, 410)
	if got, want := get(gone.json(t), "error", "details", "redirect_to"), s.kratos()+"/self-service/login/browser?return_to="+url.QueryEscape(s.public+"/account"); got != want {
		t.Errorf("expired login flow: details.redirect_to %v, want %s", got, want)
	}

	// Expiry is decided first, as in Kratos: neither a missing CSRF token
	// nor a cookie on an API flow hides it.
	res := do(t, spa, "POST", get(spaFlow.json(t), "ui", "action").(string),
		`{"method":"password","identifier":"eve@example.com","password":"a long enough secret"}`, "Accept", "application/json")
	wantStatus(t, res, 410)
	if get(res.json(t), "error", "id") != "self_service_flow_expired" || res.json(t)["use_flow_id"] == nil {
		t.Fatalf("expired browser flow without a CSRF token: %s", res.body)
	}
	res = do(t, c, "POST", get(f, "ui", "action").(string), `{"method":"password"}`, "Cookie", "x=1")
	wantStatus(t, res, 410)
	res = do(t, c, "POST", get(f, "ui", "action").(string), `{"method":"password","identifier":"eve@example.com","password":"a long enough secret"}`)
	wantStatus(t, res, 410)
	m := res.json(t)
	if get(m, "error", "id") != "self_service_flow_expired" || m["use_flow_id"] == nil || m["use_flow_id"] == f["id"] {
		t.Fatalf("expired submit: %s", res.body)
	}
	replacement := do(t, c, "GET", s.kratos()+"/self-service/login/flows?id="+m["use_flow_id"].(string), nil)
	wantStatus(t, replacement, 200)
	if get(replacement.json(t), "ui", "messages", 0, "id") != float64(4010001) {
		t.Fatalf("replacement flow: %s", replacement.body)
	}
	wantStatus(t, do(t, c, "GET", s.kratos()+"/self-service/login/flows?id="+f["id"].(string), nil), 410)

	got := do(t, c, "GET", s.admin+"/admin/identities/"+id, nil)
	wantStatus(t, got, 200)
	etag := got.Header.Get("ETag")
	body := `{"schema_id":"default","traits":{"email":"eve@example.com","name":{"last":"Changed"}}}`
	stale := do(t, c, "PUT", s.admin+"/admin/identities/"+id, body, "If-Match", `"999"`)
	wantStatus(t, stale, 412)
	after := do(t, c, "GET", s.admin+"/admin/identities/"+id, nil)
	if get(after.json(t), "traits", "name", "last") != "Hopper" {
		t.Fatalf("changed despite 412: %s", after.body)
	}
	ok := do(t, c, "PUT", s.admin+"/admin/identities/"+id, body, "If-Match", etag)
	wantStatus(t, ok, 200)
	if get(ok.json(t), "traits", "name", "last") != "Changed" || ok.Header.Get("ETag") == etag {
		t.Fatalf("update with matching If-Match: %s %s", ok.Header.Get("ETag"), ok.body)
	}
}
