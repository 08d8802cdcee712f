package flows

import (
	"testing"
)

// TestNewFlowFormNotStored: an API login or registration flow as its init
// made it is stored without its form, and answered with it all the same:
// its fetch is byte for byte the init's answer. A browser flow's form,
// with its own CSRF token, is stored whole.
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

		browser := e.newClient(callerBrowser).begin(kind, "")
		if stored, err := e.store.GetFlow(t.Context(), browser.ID); err != nil || len(stored.UI.Nodes) == 0 {
			t.Errorf("%s browser flow stored without its form: %+v, %v", kind, stored, err)
		}
	}
}
