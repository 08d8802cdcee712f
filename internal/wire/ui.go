package wire

import (
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/text"
)

// UI is a flow's form (identity.UI) as an answer writes it: each node's
// attributes as identity.InputAttributes.JSONValue, so that encoding/json
// writes them without a MarshalJSON. The JSON is the same.
type UI struct {
	Action   string         `json:"action"`
	Method   string         `json:"method"`
	Nodes    []Node         `json:"nodes"`
	Messages []text.Message `json:"messages,omitempty"`
}

// Node is identity.Node as an answer writes it.
type Node struct {
	Type       string         `json:"type"`
	Group      string         `json:"group"`
	Attributes any            `json:"attributes"`
	Messages   []text.Message `json:"messages"`
	Meta       identity.Meta  `json:"meta"`
}

// NewUI is the wire form of ui, which it refers to: encode it before ui
// changes.
func NewUI(ui *identity.UI) UI {
	out := UI{Action: ui.Action, Method: ui.Method, Messages: ui.Messages, Nodes: make([]Node, len(ui.Nodes))}
	for i := range ui.Nodes {
		n := &ui.Nodes[i]
		out.Nodes[i] = Node{Type: n.Type, Group: n.Group, Attributes: n.Attributes.JSONValue(), Messages: n.Messages, Meta: n.Meta}
	}
	return out
}
