package flows

import (
	"encoding/json"
	"testing"
)

// TestAPIFlowCSRFNodeIsEmpty: an API flow carries the csrf_token node, as
// Kratos does, with the value "" (native apps use no CSRF token); a
// browser flow's holds a masked token.
func TestAPIFlowCSRFNodeIsEmpty(t *testing.T) {
	e := newFlowEnv(t)
	for _, kind := range []string{"login", "registration"} {
		a := e.newClient(callerAPI).get(DefaultPublicPrefix + "/self-service/" + kind + "/api")
		var f struct {
			UI struct {
				Nodes []struct {
					Attributes map[string]any `json:"attributes"`
				} `json:"nodes"`
			} `json:"ui"`
		}
		if err := json.Unmarshal(a.Body.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range f.UI.Nodes {
			if n.Attributes["name"] == "csrf_token" {
				v, present := n.Attributes["value"]
				found = present && v == ""
			}
		}
		if !found {
			t.Errorf("%s API flow: no csrf_token node with value \"\": %s", kind, a.Body)
		}
	}
	if f := e.newClient(callerSPA).begin("login", ""); f.nodeValue("csrf_token") == "" {
		t.Error("a browser flow's csrf_token node is empty")
	}
}
