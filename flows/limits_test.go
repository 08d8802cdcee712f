package flows

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// TestRegistrationLimits: traits beyond identity.DefaultLimits, however
// they are spelled (a form field or a JSON key with 20,000 dotted
// segments, a JSON object 40 levels deep), are refused with 400 and no
// identity is stored.
func TestRegistrationLimits(t *testing.T) {
	e := newFlowEnv(t)
	c := e.newClient(callerAPI)
	deepKey := "traits.name" + strings.Repeat(".a", 20000)
	var deep any = "x"
	for range 40 {
		deep = map[string]any{"a": deep}
	}
	deepJSON, _ := json.Marshal(map[string]any{"method": "password", "password": "a long enough secret",
		"traits": map[string]any{"email": "deep@example.com", "name": deep}})
	dottedJSON, _ := json.Marshal(map[string]any{"method": "password", "password": "a long enough secret",
		"traits": map[string]any{"email": "dotted@example.com"}, deepKey: "x"})
	form := url.Values{"method": {"password"}, "password": {"a long enough secret"},
		"traits.email": {"form@example.com"}, deepKey: {"x"}}

	for _, tc := range []struct{ name, contentType, body string }{
		{"form field with 20,000 segments", "application/x-www-form-urlencoded", form.Encode()},
		{"JSON key with 20,000 segments", "application/json", string(dottedJSON)},
		{"JSON object 40 levels deep", "application/json", string(deepJSON)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := c.do(http.MethodPost, c.begin(identity.KindRegistration, "").UI.Action, tc.contentType, tc.body)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "nested deeper than the 32 levels") {
				t.Fatalf("%d %s, want 400 naming the depth limit", w.Code, w.Body.String()[:min(300, w.Body.Len())])
			}
			if n := e.identityCount(); n != 0 {
				t.Fatalf("%d identities stored", n)
			}
		})
	}
}
