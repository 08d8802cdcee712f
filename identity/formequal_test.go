package identity

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/seed06f30684/caddy-kratos/text"
)

// TestUIEqualIsDeepEqual: UI.Equal says what reflect.DeepEqual says, for
// forms that differ in any one place.
func TestUIEqualIsDeepEqual(t *testing.T) {
	base := func() UI {
		return UI{Action: "https://example.com/x", Method: "POST",
			Messages: []text.Message{{ID: 1, Text: "m", Type: "info", Context: map[string]any{"n": 1.0, "l": []any{"a"}}}},
			Nodes: []Node{
				{Type: "input", Group: "profile", Attributes: InputAttributes{Name: "traits.a", Type: "text", Value: map[string]any{"x": []any{1.0, "y", nil, true}}, NodeType: "input"},
					Messages: []text.Message{}, Meta: Meta{Label: &text.Message{ID: 2, Text: "A", Type: "info"}}},
				{Type: "a", Group: "code", Attributes: InputAttributes{Href: "h", Title: &text.Message{ID: 3}, AnchorID: "c", NodeType: "a"}},
			}}
	}
	changes := map[string]func(*UI){
		"none":            func(*UI) {},
		"action":          func(u *UI) { u.Action = "y" },
		"message text":    func(u *UI) { u.Messages[0].Text = "n" },
		"context value":   func(u *UI) { u.Messages[0].Context["n"] = 2.0 },
		"context type":    func(u *UI) { u.Messages[0].Context["n"] = json.Number("1") },
		"no messages":     func(u *UI) { u.Messages = nil },
		"empty messages":  func(u *UI) { u.Messages = []text.Message{} },
		"node value":      func(u *UI) { u.Nodes[0].Attributes.Value.(map[string]any)["x"].([]any)[0] = 2.0 },
		"node value type": func(u *UI) { u.Nodes[0].Attributes.Value = "x" },
		"node messages":   func(u *UI) { u.Nodes[0].Messages = nil },
		"label":           func(u *UI) { u.Nodes[0].Meta.Label.Text = "B" },
		"no label":        func(u *UI) { u.Nodes[0].Meta.Label = nil },
		"required":        func(u *UI) { u.Nodes[0].Attributes.Required = true },
		"title":           func(u *UI) { u.Nodes[1].Attributes.Title.ID = 4 },
		"href":            func(u *UI) { u.Nodes[1].Attributes.Href = "g" },
		"a node less":     func(u *UI) { u.Nodes = u.Nodes[:1] },
	}
	for name, change := range changes {
		a, b := base(), base()
		change(&b)
		if got, want := a.Equal(&b), reflect.DeepEqual(a, b); got != want {
			t.Errorf("%s: Equal = %v, reflect.DeepEqual = %v", name, got, want)
		}
	}
}
