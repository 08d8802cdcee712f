package flows

import (
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
	"github.com/seed06f30684/caddy-kratos/text"
)

// The login form as Kratos v1.3.1 builds it: in choose_method, its
// identifier labelled from the schema, and only Kratos' autocomplete
// values, which strictly typed SDKs (Rust, Java, Dart) insist on.
func TestLoginFlowShape(t *testing.T) {
	twoTitled := strings.Replace(testenv.PhoneSchema, `"type": "string", "format": "email",`, `"type": "string", "format": "email", "title": "E-Mail",`, 1)
	twoTitled = strings.Replace(twoTitled, `"type": "string", "format": "tel",`, `"type": "string", "format": "tel", "title": "Phone",`, 1)
	cases := []struct {
		name, schema string
		label        text.Message
		autocomplete string
	}{
		{"one titled email identifier", testenv.PersonSchema, text.NodeLabel("E-Mail"), "email"},
		{"identifiers without titles", testenv.PhoneSchema, text.NodeLabelID(), ""},
		{"two titled identifiers", twoTitled, text.NodeLabelID(), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newFlowEnv(t, withSchema(tc.schema))
			for _, kind := range []callerKind{callerBrowser, callerSPA, callerAPI} {
				f := e.newClient(kind).begin("login", "")
				if f.State != identity.StateChooseMethod {
					t.Errorf("%s: state %q, want choose_method", kind, f.State)
				}
				n := nodeNamed(t, f, "identifier")
				if n.Meta.Label == nil || n.Meta.Label.ID != tc.label.ID || n.Meta.Label.Text != tc.label.Text || n.Meta.Label.Type != "info" {
					t.Errorf("%s: identifier label %+v, want %+v", kind, n.Meta.Label, tc.label)
				}
				if tc.label.ID == text.InfoNodeLabelGenerated && n.Meta.Label.Context["title"] != tc.label.Text {
					t.Errorf("%s: label context %v, want the title", kind, n.Meta.Label.Context)
				}
				if n.Attributes.Autocomplete != tc.autocomplete || n.Attributes.Type != "text" || !n.Attributes.Required {
					t.Errorf("%s: identifier attributes %+v", kind, n.Attributes)
				}
			}
		})
	}
}

// kratosAutocomplete is every autocomplete value Kratos v1.3.1 sends.
var kratosAutocomplete = map[string]bool{"": true, "email": true, "tel": true, "url": true,
	"current-password": true, "new-password": true, "one-time-code": true}

func TestAutocompleteValuesAreKratos(t *testing.T) {
	for _, sch := range []string{testenv.PersonSchema, testenv.PhoneSchema} {
		e := newFlowEnv(t, withSchema(sch))
		api := e.newClient(callerAPI)
		api.signIn(e.addSession(e.addIdentity("ada@example.com")))
		refresh := e.newClient(callerAPI)
		refresh.signIn(e.addSession(e.addIdentity("bob@example.com")))
		flows := []*seenFlow{
			e.newClient(callerAPI).begin("login", ""),
			e.newClient(callerAPI).begin("registration", ""),
			api.begin("settings", ""),
			refresh.begin("login", "refresh=true"),
		}
		for _, f := range flows {
			for _, n := range f.UI.Nodes {
				if !kratosAutocomplete[n.Attributes.Autocomplete] {
					t.Errorf("%s flow, node %s: autocomplete %q is not one of Kratos'", f.Type, n.Attributes.Name, n.Attributes.Autocomplete)
				}
			}
		}
	}
}

// A refresh login's identifier is the signed-in identity's, hidden and
// without a label, as Kratos renders it.
func TestRefreshLoginIdentifierHidden(t *testing.T) {
	e := newFlowEnv(t)
	c := e.newClient(callerAPI)
	c.signIn(e.addSession(e.addIdentity("ada@example.com")))
	f := c.begin("login", "refresh=true")
	n := nodeNamed(t, f, "identifier")
	if n.Attributes.Type != "hidden" || n.Attributes.Value != "ada@example.com" || n.Meta.Label != nil {
		t.Errorf("refresh identifier %+v %+v", n.Attributes, n.Meta)
	}
	if f.State != identity.StateChooseMethod {
		t.Errorf("state %q", f.State)
	}
}

func nodeNamed(t *testing.T, f *seenFlow, name string) identity.Node {
	t.Helper()
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s in %+v", name, f.UI.Nodes)
	return identity.Node{}
}
