package flows

import (
	"net/http"
	"testing"
)

// TestNewFlowFormNotStored: a login or registration flow as its init made
// it is stored without its form, and answered with it all the same: an API
// flow's fetch is byte for byte the init's answer; a browser flow's fetch
// carries the cookie's CSRF token, masked afresh, and submits.
func TestNewFlowFormNotStored(t *testing.T) {
	e := newFlowEnv(t)
	for _, kind := range []string{"login", "registration"} {
		api := e.newClient(callerAPI)
		init := api.get(DefaultPublicPrefix + "/self-service/" + kind + "/api")
		if init.Code != 200 || len(init.doc.UI.Nodes) == 0 {
			t.Fatalf("%s init: %d %s", kind, init.Code, init.Body)
		}
		stored, err := e.store.GetFlow(t.Context(), init.doc.ID)
		if err != nil || stored.UI.Method != "" || stored.UI.Nodes != nil {
			t.Errorf("%s API flow stored with its form: %+v, %v", kind, stored, err)
		}
		fetch := api.get(DefaultPublicPrefix + "/self-service/" + kind + "/flows?id=" + init.doc.ID)
		if fetch.Code != 200 || fetch.Body.String() != init.Body.String() {
			t.Errorf("%s API flow fetched: %d\n%s\nwant the init's answer\n%s", kind, fetch.Code, fetch.Body, init.Body)
		}

		spa := e.newClient(callerSPA)
		f := spa.begin(kind, "")
		if stored, err := e.store.GetFlow(t.Context(), f.ID); err != nil || stored.UI.Nodes != nil {
			t.Errorf("%s browser flow stored with its form: %+v, %v", kind, stored, err)
		}
		fetched := spa.get(DefaultPublicPrefix + "/self-service/" + kind + "/flows?id=" + f.ID)
		token := fetched.doc.nodeValue("csrf_token")
		if fetched.Code != 200 || token == "" || len(fetched.doc.UI.Nodes) != len(f.UI.Nodes) {
			t.Fatalf("%s browser flow fetched: %d %s", kind, fetched.Code, fetched.Body)
		}
		// The token is the cookie's: a submit with it passes the CSRF check.
		if a := spa.submit(&fetched.doc.seenFlow, map[string]string{"method": "password", "csrf_token": token}); a.Code == http.StatusForbidden {
			t.Errorf("%s browser flow: the fetched token was refused: %s", kind, a.Body)
		}
	}
}
