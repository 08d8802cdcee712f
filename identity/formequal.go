package identity

import (
	"encoding/json"
	"reflect"

	"github.com/seed06f30684/caddy-kratos/text"
)

// Equal reports whether two forms are the same, Go types of values
// included (a float64 is not a json.Number of the same digits), as
// reflect.DeepEqual says, at a fraction of its cost: the stores' callers
// compare a form with the one built again from what is stored of it.
func (u *UI) Equal(o *UI) bool {
	return u.Action == o.Action && u.Method == o.Method &&
		EqualNodes(u.Nodes, o.Nodes) && equalSlices(u.Messages, o.Messages, equalMessage)
}

// EqualNodes reports whether two lists of nodes are the same (UI.Equal).
func EqualNodes(a, b []Node) bool { return equalSlices(a, b, (*Node).Equal) }

// Equal reports whether two nodes are the same (UI.Equal).
func (n *Node) Equal(o *Node) bool {
	a, b := &n.Attributes, &o.Attributes
	return n.Type == o.Type && n.Group == o.Group &&
		a.Name == b.Name && a.Type == b.Type && a.Required == b.Required &&
		a.Autocomplete == b.Autocomplete && a.Pattern == b.Pattern && a.MaxLength == b.MaxLength &&
		a.Disabled == b.Disabled && a.NodeType == b.NodeType && a.Href == b.Href && a.AnchorID == b.AnchorID &&
		equalPointers(a.Title, b.Title) && equalValue(a.Value, b.Value) &&
		equalSlices(n.Messages, o.Messages, equalMessage) && equalPointers(n.Meta.Label, o.Meta.Label)
}

// equalSlices compares two slices element by element; nil and empty
// differ, as for reflect.DeepEqual.
func equalSlices[T any](a, b []T, eq func(*T, *T) bool) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if !eq(&a[i], &b[i]) {
			return false
		}
	}
	return true
}

func equalPointers(a, b *text.Message) bool {
	if a == nil || b == nil {
		return a == b
	}
	return equalMessage(a, b)
}

func equalMessage(a, b *text.Message) bool {
	if a.ID != b.ID || a.Text != b.Text || a.Type != b.Type || len(a.Context) != len(b.Context) || (a.Context == nil) != (b.Context == nil) {
		return false
	}
	for k, v := range a.Context {
		w, ok := b.Context[k]
		if !ok || !equalValue(v, w) {
			return false
		}
	}
	return true
}

// equalValue compares the values of JSON documents; others as
// reflect.DeepEqual does.
func equalValue(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case string:
		b, ok := b.(string)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case json.Number:
		b, ok := b.(json.Number)
		return ok && a == b
	case []any:
		b, ok := b.([]any)
		return ok && equalSlices(a, b, func(x, y *any) bool { return equalValue(*x, *y) })
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !equalValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
