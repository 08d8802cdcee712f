package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// listAllSessions pages through target (GET /admin/sessions?...) by its
// next links and returns the pages' items.
func (e *adminEnv) listAllSessions(target string) ([]map[string]any, int) {
	e.t.Helper()
	var out []map[string]any
	pages := 0
	for range 20 {
		a := e.admin("GET", target, nil).Expect(e.t, http.StatusOK)
		out = append(out, a.List(e.t)...)
		pages++
		l := links(e.t, a.Header())
		if l["first"] == "" {
			e.t.Fatalf("no first link: %v", a.Header())
		}
		next := l["next"]
		if next == "" {
			return out, pages
		}
		u, err := url.Parse(next)
		if err != nil {
			e.t.Fatal(err)
		}
		target = u.RequestURI()
	}
	e.t.Fatal("no last page")
	return nil, 0
}

func idsOf(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["id"].(string))
	}
	return out
}

func TestAdminListSessions(t *testing.T) {
	e := newAdminEnv(t)
	ada := e.stored(e.create(map[string]any{"email": "ada@example.com"})["id"].(string))
	bob := e.stored(e.create(map[string]any{"email": "bob@example.com"})["id"].(string))
	var all []*identity.Session // newest first
	for i := range 5 {
		e.clock.Add(time.Minute)
		owner := ada
		if i%2 == 1 {
			owner = bob
		}
		all = append([]*identity.Session{e.session(owner)}, all...)
	}
	revoked := all[1]
	e.admin("DELETE", "/admin/sessions/"+revoked.ID, nil).Expect(t, http.StatusNoContent)
	expiring := all[3]
	expiring.ExpiresAt = e.clock.Now().Add(time.Second)
	if err := e.store.UpdateSession(context.Background(), expiring); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Second) // the memory store forgets it
	var live []string
	for _, s := range all {
		if s != expiring {
			live = append(live, s.ID)
		}
	}
	activeIDs := slices.DeleteFunc(slices.Clone(live), func(id string) bool { return id == revoked.ID })

	for _, prefix := range []string{"/admin/sessions", "/sessions"} {
		items, _ := e.listAllSessions(prefix)
		if got := idsOf(items); !slices.Equal(got, live) {
			t.Errorf("%s: %v, want newest first %v", prefix, got, live)
		}
		for _, it := range items {
			if it["identity"] != nil || it["devices"] != nil {
				t.Errorf("without expand: identity %v, devices %v; want null", it["identity"], it["devices"])
			}
		}
	}
	items, pages := e.listAllSessions("/admin/sessions?page_size=2&expand=Identity&expand=devices")
	if got := idsOf(items); !slices.Equal(got, live) || pages != 2 {
		t.Errorf("pages of 2: %v in %d pages, want %v in 2", got, pages, live)
	}
	for _, it := range items {
		idj, _ := it["identity"].(map[string]any)
		devices, _ := it["devices"].([]any)
		if idj == nil || idj["credentials"] == nil || len(devices) != 1 {
			t.Errorf("expanded: identity %v, devices %v; want the admin identity and the device", it["identity"], it["devices"])
		}
	}
	items, _ = e.listAllSessions("/admin/sessions?active=true&page_size=1")
	if got := idsOf(items); !slices.Equal(got, activeIDs) {
		t.Errorf("active=true: %v, want %v", got, activeIDs)
	}
	items, _ = e.listAllSessions("/admin/sessions?active=false")
	if got := idsOf(items); !slices.Equal(got, []string{revoked.ID}) || items[0]["active"] != false {
		t.Errorf("active=false: %v, want the revoked %s", got, revoked.ID)
	}

	// Kratos' messages (no reason) and reasons.
	for query, want := range map[string]string{
		"active=maybe": "could not parse parameter active",
		"page_size=x":  "could not parse parameter page_size",
		"page_size=0":  "could not parse parameter page_size",
	} {
		a := e.admin("GET", "/admin/sessions?"+query, nil).Expect(t, http.StatusBadRequest)
		if msg := a.Obj(t)["error"].(map[string]any)["message"]; msg != want {
			t.Errorf("?%s: message %q, want %q", query, msg, want)
		}
	}
	for query, want := range map[string]string{
		"expand=credentials": "Could not parse expand option: credentials",
		"page_token=abc":     "The page token is invalid, do not craft your own page tokens",
	} {
		e.admin("GET", "/admin/sessions?"+query, nil).ExpectError(t, http.StatusBadRequest, want)
	}
	e.admin("POST", "/admin/sessions", nil).ExpectError(t, http.StatusMethodNotAllowed)
}
