package integration

import (
	"net/url"
	"testing"
)

// TestProfileSeed000 replays the seed's legacy walkthrough literally.
func TestProfileSeed000(t *testing.T) {
	s := startSite(t, "")
	registerAPI(t, s, "foobar@ory.sh", "a long enough secret")
	c := browser(t)
	wantStatus(t, loginBrowser(t, s, c, "foobar@ory.sh", "a long enough secret", ""), 303)
	// The seed's identity has first name Foobar.
	init := do(t, c, "GET", s.kratos()+"/self-service/browser/flows/profile", nil)
	wantStatus(t, init, 302)
	loc, _ := url.Parse(init.Header.Get("Location"))
	reqID := loc.Query().Get("request")
	if reqID == "" {
		t.Fatalf("no request id in %s", init.Header.Get("Location"))
	}

	admin := do(t, browser(t), "GET", s.admin+"/self-service/browser/flows/requests/profile?request="+reqID, nil)
	wantStatus(t, admin, 200)
	req := admin.json(t)
	fields, _ := get(req, "form", "fields").(map[string]any)
	for _, name := range []string{"csrf_token", "traits.email", "traits.name.first", "traits.name.last"} {
		if fields[name] == nil {
			t.Fatalf("field %s missing: %s", name, admin.body)
		}
	}
	if get(fields, "traits.email", "value") != "foobar@ory.sh" || get(fields, "traits.email", "disabled") != true ||
		get(fields, "traits.name.first", "value") != "Grace" || get(req, "update_successful") != false {
		t.Fatalf("request: %s", admin.body)
	}
	if get(req, "identity", "traits_schema_id") != "default" {
		t.Fatalf("identity: %s", admin.body)
	}
	action := get(req, "form", "action").(string)
	if action != s.kratos()+"/self-service/browser/flows/profile/update?request="+reqID {
		t.Fatalf("action %s", action)
	}
	csrf := get(fields, "csrf_token", "value").(string)

	// Too short a first name: the seed's error on that field, nothing saved.
	res := do(t, c, "POST", action, url.Values{"csrf_token": {csrf}, "traits.email": {"foobar@ory.sh"}, "traits.name.first": {"abc"}, "traits.name.last": {"Barbaz"}})
	wantStatus(t, res, 302)
	req = do(t, c, "GET", s.kratos()+"/self-service/browser/flows/requests/profile?request="+reqID, nil).json(t)
	if got := get(req, "form", "fields", "traits.name.first", "errors", 0, "message"); got != "traits.name.first: Must be at least 5 characters long" {
		t.Fatalf("error %v: %v", got, req)
	}
	if get(req, "form", "fields", "traits.name.first", "value") != "abc" || get(req, "identity", "traits", "name", "first") != "Grace" {
		t.Fatalf("after invalid submit: %v", req)
	}

	// The email cannot be changed here.
	res = do(t, c, "POST", action, url.Values{"csrf_token": {csrf}, "traits.email": {"new@ory.sh"}, "traits.name.first": {"Foobar"}}, "Accept", "application/json")
	wantStatus(t, res, 400)
	if got := get(res.json(t), "form", "fields", "traits.email", "errors", 0, "message"); got != "traits.email: Can only be changed through the settings flow after a recent login" {
		t.Fatalf("email change: %s", res.body)
	}

	// A valid change succeeds; the disabled email may be left out.
	res = do(t, c, "POST", action, url.Values{"csrf_token": {csrf}, "traits.name.first": {"Foobar"}, "traits.name.last": {"Barbaz"}})
	wantStatus(t, res, 302)
	req = do(t, browser(t), "GET", s.admin+"/self-service/browser/flows/requests/profile?request="+reqID, nil).json(t)
	if get(req, "update_successful") != true || get(req, "identity", "traits", "name", "first") != "Foobar" || get(req, "identity", "traits", "email") != "foobar@ory.sh" {
		t.Fatalf("after valid submit: %v", req)
	}

	// Without the CSRF token: 403.
	res = do(t, c, "POST", action, url.Values{"traits.name.first": {"Foobar"}}, "Accept", "application/json")
	wantStatus(t, res, 403)
	// The public fetch from another browser is 403, never 404.
	wantStatus(t, do(t, browser(t), "GET", s.kratos()+"/self-service/browser/flows/requests/profile?request="+reqID, nil), 403)
	wantStatus(t, do(t, c, "GET", s.kratos()+"/self-service/browser/flows/requests/profile?request=00000000-0000-4000-8000-000000000000", nil), 403)
	wantStatus(t, do(t, browser(t), "GET", s.admin+"/self-service/browser/flows/requests/profile?request=00000000-0000-4000-8000-000000000000", nil), 404)
}
