package flows

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// TestFetchExpiredFlow: a fetch of an expired flow answers as Kratos v1.3.1
// (x.ErrGone in each flow's fetch handler): 410 with herodot's Gone
// message, a reason saying how to start again, and where in details; the
// id self_service_flow_expired for login and registration, none for
// settings; and none of a submit's replacement fields (use_flow_id,
// expired_at, since). Ory's JavaScript SDK met the difference first
// (integration/ory_client_javascript_test.go).
func TestFetchExpiredFlow(t *testing.T) {
	const gone = "The requested resource is no longer available because it has expired or is otherwise invalid."
	for _, kind := range []string{identity.KindLogin, identity.KindRegistration, identity.KindSettings} {
		for _, caller := range []callerKind{callerSPA, callerAPI} {
			t.Run(kind+"/"+caller.String(), func(t *testing.T) {
				e := newFlowEnv(t)
				c := e.newClient(caller)
				if kind == identity.KindSettings {
					c.signIn(e.addSession(e.addIdentity("ada@example.com")))
				}
				query := ""
				if caller == callerSPA {
					query = "return_to=/account"
				}
				f := c.begin(kind, query)
				e.clock.Add(time.Hour + time.Minute) // past the default flow lifespan
				a := c.get(DefaultPublicPrefix + "/self-service/" + kind + "/flows?id=" + f.ID)
				if a.Code != http.StatusGone {
					t.Fatalf("status %d, want 410\n%s", a.Code, a.Body)
				}
				var got map[string]any
				if err := json.Unmarshal(a.Body.Bytes(), &got); err != nil {
					t.Fatalf("%v\n%s", err, a.Body)
				}
				want := map[string]any{"code": float64(410), "status": "Gone", "message": gone}
				if kind != identity.KindSettings {
					want["id"] = "self_service_flow_expired"
				}
				if caller == callerAPI {
					want["reason"] = "The " + kind + " flow has expired. Call the " + kind + " flow init API endpoint to initialize a new " + kind + " flow."
					want["details"] = map[string]any{"api": testPub + "/self-service/" + kind + "/api"}
				} else {
					want["reason"] = "The " + kind + " flow has expired. Redirect the user to the " + kind + " flow init endpoint to initialize a new " + kind + " flow."
					want["details"] = map[string]any{
						"redirect_to": testPub + "/self-service/" + kind + "/browser?return_to=http%3A%2F%2Fexample.com%2Faccount",
						"return_to":   testHost + "/account",
					}
				}
				if wantBody := map[string]any{"error": want}; !jsonEqual(got, wantBody) {
					t.Errorf("body\n%s\nwant\n%s", a.Body, mustJSON(t, wantBody))
				}
				if id := a.Header().Get("Ory-Error-Id"); id != "" && id != want["id"] {
					t.Errorf("Ory-Error-Id %q, want %v", id, want["id"])
				}
				if stored := e.storedFlow(f.ID); stored.ID != f.ID {
					t.Errorf("the expired flow is gone from the store")
				}
			})
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
