// Package form builds the forms (identity.UI nodes) of the self-service
// flows from the identity schema: trait inputs, the password, the CSRF
// token and the submit buttons, and puts validation errors on them.
package form

import (
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/schema"
	"github.com/seed06f30684/caddy-kratos/text"
)

func Input(group, name, typ string, value any) identity.Node {
	return identity.Node{Type: "input", Group: group, Messages: []text.Message{},
		Attributes: identity.InputAttributes{Name: name, Type: typ, Value: value, NodeType: "input"}}
}

func CSRF(masked string) identity.Node {
	n := Input(identity.GroupDefault, "csrf_token", "hidden", masked)
	n.Attributes.Required = true
	return n
}

func Submit(group, method string, label text.Message) identity.Node {
	n := Input(group, "method", "submit", method)
	n.Meta.Label = &label
	return n
}

func Password(autocomplete string) identity.Node {
	n := Input(identity.GroupPassword, "password", "password", nil)
	n.Attributes.Required = true
	n.Attributes.Autocomplete = autocomplete
	label := text.NodeLabelPassword()
	n.Meta.Label = &label
	return n
}

// traitNodes returns one input node per schema field, in schema order,
// valued from traits.
func Traits(sch *schema.Schema, group string, traits map[string]any) []identity.Node {
	fields := sch.Fields()
	nodes := make([]identity.Node, 0, len(fields))
	for _, f := range fields {
		v, _ := ValueAt(traits, f.Path)
		n := Input(group, f.Name, f.Type, v)
		n.Attributes.Required = f.Required
		n.Attributes.Pattern = f.Pattern
		n.Attributes.Disabled = f.ReadOnly
		if f.MaxLength > 0 {
			n.Attributes.MaxLength = f.MaxLength
		}
		if f.Type == "email" {
			n.Attributes.Autocomplete = "email"
		}
		if f.Title != "" {
			label := text.NodeLabel(f.Title)
			n.Meta.Label = &label
		}
		nodes = append(nodes, n)
	}
	return nodes
}

// valueAt returns the value at a path inside nested objects.
func ValueAt(v map[string]any, path []string) (any, bool) {
	var cur any = v
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// setTraitValues writes traits into the trait nodes (values absent from
// traits are cleared) and removes their messages.
func SetTraitValues(nodes []identity.Node, sch *schema.Schema, traits map[string]any) {
	paths := map[string][]string{}
	for _, f := range sch.Fields() {
		paths[f.Name] = f.Path
	}
	for i := range nodes {
		path, ok := paths[nodes[i].Attributes.Name]
		if !ok {
			continue
		}
		v, _ := ValueAt(traits, path)
		nodes[i].Attributes.Value = v
		nodes[i].Messages = []text.Message{}
	}
}

// fieldMessage turns a schema field error into a Kratos UI message.
func FieldMessage(e schema.FieldError) text.Message {
	return text.Message{ID: e.ID, Text: e.Text, Type: text.Error, Context: e.Context}
}

// attachErrors puts each field error on the node with its field name; an
// error for a field without a node gets a node of its own, so none is lost.
func AttachErrors(nodes []identity.Node, group string, errs []schema.FieldError) []identity.Node {
	for _, e := range errs {
		i := Index(nodes, e.Field)
		if i < 0 {
			nodes = append(nodes, Input(group, e.Field, "text", nil))
			i = len(nodes) - 1
		}
		nodes[i].Messages = append(nodes[i].Messages, FieldMessage(e))
	}
	return nodes
}

func Index(nodes []identity.Node, name string) int {
	for i := range nodes {
		if nodes[i].Attributes.Name == name {
			return i
		}
	}
	return -1
}

// clearMessages removes every message of the form and its nodes.
func ClearMessages(ui *identity.UI) {
	ui.Messages = nil
	for i := range ui.Nodes {
		ui.Nodes[i].Messages = []text.Message{}
	}
}

// setCSRF writes a fresh masked token into the form's CSRF node.
func SetCSRF(ui *identity.UI, masked string) {
	if i := Index(ui.Nodes, "csrf_token"); i >= 0 {
		ui.Nodes[i].Attributes.Value = masked
	}
}
