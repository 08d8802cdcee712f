package flows

import (
	"net/http"
	"slices"
	"testing"

	"github.com/seed06f30684/caddy-kratos/text"
)

// TestSettingsSubmitErrorsAnswerWithTheFlow: a missing or unknown method is
// answered with the flow and message 4010004, and a profile submission
// without traits is validated as empty traits (each required trait is
// missing), as Kratos does; nothing changes.
func TestSettingsSubmitErrorsAnswerWithTheFlow(t *testing.T) {
	e := newFlowEnv(t)
	id := e.addIdentity("ada@example.com")
	for _, kind := range []callerKind{callerAPI, callerSPA, callerBrowser} {
		for _, tc := range []struct {
			name        string
			fields      map[string]string
			messages    []int
			nodeMessage string
		}{
			{"unknown method", map[string]string{"method": "oidc"}, []int{text.ErrorValidationSettingsNoStrategy}, ""},
			{"missing method", map[string]string{"traits.email": "x@example.com"}, []int{text.ErrorValidationSettingsNoStrategy}, ""},
			{"profile without traits", map[string]string{"method": "profile"}, nil, "traits.email"},
		} {
			t.Run(kind.String()+"/"+tc.name, func(t *testing.T) {
				c := e.newClient(kind)
				c.signIn(e.addSession(id))
				f := c.begin("settings", "")
				a := c.submit(f, tc.fields)
				var got *seenFlow
				if kind == callerBrowser {
					if a.Code != http.StatusSeeOther {
						t.Fatalf("%d %s, want 303 to the settings UI", a.Code, a.Body)
					}
					got = e.storedFlow(f.ID)
				} else {
					if a.Code != http.StatusBadRequest || a.doc.ID != f.ID {
						t.Fatalf("%d %s, want 400 with the flow", a.Code, a.Body)
					}
					got = &a.doc.seenFlow
				}
				if !slices.Equal(got.messageIDs(), tc.messages) {
					t.Errorf("ui.messages %v, want %v", got.messageIDs(), tc.messages)
				}
				if tc.nodeMessage != "" && !slices.Contains(got.nodeMessageIDs(tc.nodeMessage), text.ErrorValidationRequired) {
					t.Errorf("%s messages %v, want %d", tc.nodeMessage, got.nodeMessageIDs(tc.nodeMessage), text.ErrorValidationRequired)
				}
				if st := e.identity(id.ID); st.Version != id.Version || st.Traits["email"] != "ada@example.com" {
					t.Errorf("the identity changed: version %d, traits %v", st.Version, st.Traits)
				}
			})
		}
	}
}
