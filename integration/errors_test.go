package integration

import (
	"net/url"
	"testing"
)

// TestSchemasAndErrorUI covers the public schema endpoints and how a
// browser meets an error without a flow: a redirect to the error UI, whose
// error the error endpoint returns.
func TestSchemasAndErrorUI(t *testing.T) {
	s := startSite(t, "")
	c := browser(t)

	list := do(t, c, "GET", s.kratos()+"/schemas", nil)
	wantStatus(t, list, 200)
	if len(list.body) == 0 || list.body[0] != '[' {
		t.Fatalf("schemas: %s", list.body)
	}
	for _, id := range []string{"default", "ZGVmYXVsdA"} {
		res := do(t, c, "GET", s.kratos()+"/schemas/"+id, nil)
		wantStatus(t, res, 200)
		if res.json(t)["title"] != "Person" {
			t.Fatalf("schema %s: %s", id, res.body)
		}
	}
	wantStatus(t, do(t, c, "GET", s.kratos()+"/schemas/other", nil), 404)

	// A plain browser posting to an unknown flow is sent to the error UI.
	res := do(t, c, "POST", s.kratos()+"/self-service/login?flow=00000000-0000-4000-8000-000000000000", url.Values{"method": {"password"}})
	wantStatus(t, res, 303)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Path != "/.ory/kratos/public/ui/error" || loc.Query().Get("id") == "" {
		t.Fatalf("error redirect: %s", res.Header.Get("Location"))
	}
	stored := do(t, c, "GET", s.kratos()+"/self-service/errors?id="+loc.Query().Get("id"), nil)
	wantStatus(t, stored, 200)
	if get(stored.json(t), "error", "code") != float64(404) || get(stored.json(t), "error", "reason") == nil {
		t.Fatalf("stored error: %s", stored.body)
	}
	page := do(t, c, "GET", loc.String(), nil)
	wantStatus(t, page, 200)
	wantStatus(t, do(t, c, "GET", s.kratos()+"/self-service/errors?id=00000000-0000-4000-8000-000000000000", nil), 404)
}
