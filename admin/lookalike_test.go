package admin

// Look-alike identifiers through the admin API (issue #9, item 4): an
// import is validated as a sign-up is, and credentials_identifier finds
// an identity in any spelling of its identifier.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/testenv"
)

func TestAdminLookalikeIdentifiers(t *testing.T) {
	e := newAdminEnv(t, withSchema(testenv.PhoneSchema))
	code, raw := call(e, http.MethodPost, "/admin/identities", map[string]any{
		"traits": map[string]any{"email": "alice@example.com", "phone": "+1 202-555-0143"},
		"verifiable_addresses": []any{
			// Another spelling of the trait's number: the same address.
			map[string]any{"value": "+1 (202) 555 0143", "via": "sms", "verified": true},
		},
	})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, raw)
	}
	var created struct {
		ID                  string
		VerifiableAddresses []struct {
			Value, Via string
			Verified   bool
		} `json:"verifiable_addresses"`
	}
	if err := json.Unmarshal(raw, &created); err != nil {
		t.Fatal(err)
	}
	for _, a := range created.VerifiableAddresses {
		if a.Via == "sms" && (a.Value != "+12025550143" || !a.Verified) {
			t.Errorf("sms address %+v, want +12025550143, verified", a)
		}
	}

	// credentials_identifier in any spelling finds it.
	for _, ident := range []string{"alice@example.com", "ALICE@Example.com", "ａlice@example.com", "+12025550143", "+1 (202) 555-0143"} {
		code, raw := call(e, http.MethodGet, "/admin/identities?credentials_identifier="+url.QueryEscape(ident), nil)
		var list []struct{ ID string }
		if err := json.Unmarshal(raw, &list); err != nil || code != http.StatusOK || len(list) != 1 || list[0].ID != created.ID {
			t.Errorf("credentials_identifier=%q: %d %s; want %s", ident, code, raw, created.ID)
		}
	}

	// A look-alike is a duplicate; an invisible character is refused with
	// a reason naming it. Nothing more is stored.
	code, raw = call(e, http.MethodPost, "/admin/identities", map[string]any{"traits": map[string]any{"email": "ａlice@example.com"}})
	if code != http.StatusConflict {
		t.Errorf("import a look-alike: %d %s, want 409", code, raw)
	}
	code, raw = call(e, http.MethodPost, "/admin/identities", map[string]any{"traits": map[string]any{"email": "ali\u200bce@example.com"}})
	if code != http.StatusBadRequest || !strings.Contains(string(raw), "invisible character (U+200B)") {
		t.Errorf("import with U+200B: %d %s, want 400 naming U+200B", code, raw)
	}
	if list, _, err := e.store.ListIdentities(t.Context(), "", 10); err != nil || len(list) != 1 {
		t.Errorf("%d identities stored (%v), want 1", len(list), err)
	}
}

// call sends a request to the admin API and returns its status and body.
func call(e *adminEnv, method, target string, body any) (int, []byte) {
	e.t.Helper()
	r := e.admin(method, target, body)
	return r.Code, r.Body.Bytes()
}
