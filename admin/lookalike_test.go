package admin_test

// Look-alike identifiers through the admin API (issue #9, item 4): an
// import is validated as a sign-up is, and credentials_identifier finds
// an identity in any spelling of its identifier.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/admin"
	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
)

const adminLookalikeSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string", "format": "email",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "email"}}
        },
        "phone": {
          "type": "string", "format": "tel",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "sms"}}
        }
      }
    }
  }
}`

func newAdminLookalike(t *testing.T) (*admin.API, identity.Store) {
	t.Helper()
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	store := clock.Store()
	s, err := flows.New(flows.Config{Schema: testenv.Schema(adminLookalikeSchema), Store: store, PasswordCost: 4, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return admin.New(s), store
}

func adminCall(t *testing.T, api *admin.API, method, target string, body any) (int, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body == nil {
		rd = bytes.NewReader(nil)
	} else {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(method, "http://admin.test"+target, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

func TestAdminLookalikeIdentifiers(t *testing.T) {
	api, store := newAdminLookalike(t)
	code, raw := adminCall(t, api, http.MethodPost, "/admin/identities", map[string]any{
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
		code, raw := adminCall(t, api, http.MethodGet, "/admin/identities?credentials_identifier="+url.QueryEscape(ident), nil)
		var list []struct{ ID string }
		if err := json.Unmarshal(raw, &list); err != nil || code != http.StatusOK || len(list) != 1 || list[0].ID != created.ID {
			t.Errorf("credentials_identifier=%q: %d %s; want %s", ident, code, raw, created.ID)
		}
	}

	// A look-alike is a duplicate; an invisible character is refused with
	// a reason naming it. Nothing more is stored.
	code, raw = adminCall(t, api, http.MethodPost, "/admin/identities", map[string]any{"traits": map[string]any{"email": "ａlice@example.com"}})
	if code != http.StatusConflict {
		t.Errorf("import a look-alike: %d %s, want 409", code, raw)
	}
	code, raw = adminCall(t, api, http.MethodPost, "/admin/identities", map[string]any{"traits": map[string]any{"email": "ali\u200bce@example.com"}})
	if code != http.StatusBadRequest || !strings.Contains(string(raw), "invisible character (U+200B)") {
		t.Errorf("import with U+200B: %d %s, want 400 naming U+200B", code, raw)
	}
	if list, _, err := store.ListIdentities(t.Context(), "", 10); err != nil || len(list) != 1 {
		t.Errorf("%d identities stored (%v), want 1", len(list), err)
	}
}
