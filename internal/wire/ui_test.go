package wire

import (
	"encoding/json"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/text"
)

// TestUIWritesWhatIdentityUIWrites: the wire form of a form is the JSON of
// identity.UI itself, an anchor's attributes only as Kratos writes them.
func TestUIWritesWhatIdentityUIWrites(t *testing.T) {
	title := text.Message{ID: 1070009, Text: "Continue", Type: "info"}
	ui := identity.UI{Action: "https://example.com/x", Method: "POST",
		Messages: []text.Message{{ID: 1050001, Text: "Saved", Type: "success"}},
		Nodes: []identity.Node{
			{Type: "input", Group: "default", Attributes: identity.InputAttributes{Name: "traits.age", Type: "number", Value: 42.0, Required: true, NodeType: "input"}, Messages: []text.Message{}},
			{Type: "a", Group: "code", Attributes: identity.InputAttributes{Href: "https://example.com/", Title: &title, AnchorID: "continue", NodeType: "a"}, Messages: []text.Message{}},
		}}
	want, err := json.Marshal(ui)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(NewUI(&ui))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("wire form\n got %s\nwant %s", got, want)
	}
	var back struct {
		Nodes []struct{ Attributes map[string]any }
	}
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if a := back.Nodes[1].Attributes; len(a) != 4 || a["href"] != "https://example.com/" || a["id"] != "continue" || a["node_type"] != "a" || a["title"] == nil {
		t.Errorf("anchor attributes %v, want href, title, id and node_type only", a)
	}
}
