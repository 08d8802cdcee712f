package identity

import (
	"encoding/json"

	"github.com/seed06f30684/caddy-kratos/text"
)

// UI is a flow's form: the Kratos v1 `ui` container.
type UI struct {
	Action   string         `json:"action"`
	Method   string         `json:"method"`
	Nodes    []Node         `json:"nodes"`
	Messages []text.Message `json:"messages,omitempty"`
}

// Node is one form element: an input, or (NodeType "a") an anchor.
type Node struct {
	Type       string          `json:"type"`
	Group      string          `json:"group"`
	Attributes InputAttributes `json:"attributes"`
	Messages   []text.Message  `json:"messages"`
	Meta       Meta            `json:"meta"`
}

// InputAttributes are the attributes of an input node.
type InputAttributes struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	Value        any    `json:"value,omitempty"`
	Required     bool   `json:"required,omitempty"`
	Autocomplete string `json:"autocomplete,omitempty"`
	Pattern      string `json:"pattern,omitempty"`
	MaxLength    int    `json:"maxlength,omitempty"`
	Disabled     bool   `json:"disabled"`
	NodeType     string `json:"node_type"`

	// An anchor's attributes (NodeType "a"), such as the "Continue" link
	// of a verified verification flow.
	Href     string        `json:"href,omitempty"`
	Title    *text.Message `json:"title,omitempty"`
	AnchorID string        `json:"id,omitempty"`
}

// MarshalJSON writes an anchor's attributes as Kratos does (href, title,
// id, node_type), an input's as they are.
func (a InputAttributes) MarshalJSON() ([]byte, error) {
	return json.Marshal(a.JSONValue())
}

// plainAttributes is InputAttributes without its MarshalJSON.
type plainAttributes InputAttributes

// anchorAttributes are an anchor's attributes as Kratos writes them.
type anchorAttributes struct {
	Href     string        `json:"href"`
	Title    *text.Message `json:"title"`
	ID       string        `json:"id"`
	NodeType string        `json:"node_type"`
}

// JSONValue is what MarshalJSON writes, as a value encoding/json writes
// without a MarshalJSON: an answer that encodes it in place of a (the
// flow's wire form) saves the check and compaction encoding/json gives
// every MarshalJSON's output, much of the cost of answering with a form.
// An input's is a itself, not a copy.
func (a *InputAttributes) JSONValue() any {
	if a.NodeType == "a" {
		return anchorAttributes{a.Href, a.Title, a.AnchorID, a.NodeType}
	}
	return (*plainAttributes)(a)
}

// Meta holds a node's label.
type Meta struct {
	Label *text.Message `json:"label,omitempty"`
}

// Node groups.
const (
	GroupDefault  = "default"
	GroupProfile  = "profile"
	GroupPassword = "password"
)
