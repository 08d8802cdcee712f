package flows

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestRoutes checks the route table: methods, 405 with Allow in the error
// envelope, HEAD wherever GET is answered, 404 for unknown and unclean
// paths.
func TestRoutes(t *testing.T) {
	c := newFlowEnv(t).newClient(callerAPI)
	for _, tc := range []struct {
		method, rel string
		code        int
		allow       string
	}{
		{"GET", "/sessions/whoami", 401, ""},
		{"POST", "/sessions/whoami", 401, ""}, // any method, as Kratos
		{"DELETE", "/sessions/whoami", 401, ""},
		{"HEAD", "/self-service/login/api", 200, ""},
		{"POST", "/self-service/login/api", 405, "GET, HEAD"},
		{"GET", "/self-service/login", 405, "POST"},
		{"PUT", "/self-service/settings", 405, "GET, HEAD, POST"},
		{"GET", "/self-service/logout/api", 405, "DELETE"},
		{"GET", "/schemas/default", 200, ""},
		{"GET", "/schemas/default/x", 404, ""},
		{"GET", "/nothing", 404, ""},
		{"GET", "/admin/identities", 404, ""},
		{"GET", "/self-service/../sessions/whoami", 404, ""},
		{"GET", "//sessions/whoami", 404, ""},
		{"GET", "/self-service/login/api?return_to=" + strings.Repeat("a", 2040), 400, ""},
	} {
		t.Run(tc.method+" "+tc.rel, func(t *testing.T) {
			w := c.do(tc.method, DefaultPublicPrefix+tc.rel, "", "")
			if w.Code != tc.code || w.Header().Get("Allow") != tc.allow {
				t.Fatalf("%d Allow %q, want %d Allow %q; body %s", w.Code, w.Header().Get("Allow"), tc.code, tc.allow, w.Body)
			}
			if tc.code >= 400 && tc.method != http.MethodHead {
				if w.doc.Error == nil || w.doc.Error.Code != tc.code {
					t.Fatalf("not the error envelope: %s", w.Body)
				}
			}
		})
	}
}

// TestBrowserInitNegotiates checks that a browser flow's init answers the
// JSON of the flow to the SDKs' Accept (axios, Angular) and redirects a
// browser navigation and */* to the UI.
func TestBrowserInitNegotiates(t *testing.T) {
	c := newFlowEnv(t).newClient(callerAPI)
	for accept, wantJSON := range map[string]bool{
		"application/json, text/plain, */*": true, // axios (@ory/client), Angular
		"application/json":                  true,
		"*/*":                               false, // fetch() and curl by default
		"":                                  false,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": false,
	} {
		w := c.get(DefaultPublicPrefix+"/self-service/login/browser", "Accept", accept)
		switch {
		case wantJSON && (w.Code != http.StatusOK || !json.Valid(w.Body.Bytes())):
			t.Errorf("Accept %q: %d %s, want 200 and the flow", accept, w.Code, w.Body)
		case !wantJSON && w.Code != http.StatusSeeOther:
			t.Errorf("Accept %q: %d, want 303 to the UI", accept, w.Code)
		}
	}
}
