package wire

import (
	"encoding/json"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/text"
)

// The legacy profile-management API of Kratos v0.1 (Kratos v0.1): the shape of
// a profile request. It is built from the same flow records as the
// settings flow.

// LegacyField is one field of the legacy form, keyed by name in `fields`.
type LegacyField struct {
	Name     string        `json:"name"`
	Type     string        `json:"type"`
	Value    any           `json:"value,omitempty"`
	Required bool          `json:"required,omitempty"`
	Disabled bool          `json:"disabled,omitempty"`
	Pattern  string        `json:"pattern,omitempty"`
	Errors   []LegacyError `json:"errors,omitempty"`
}

type LegacyError struct {
	Message string `json:"message"`
}

type LegacyForm struct {
	Action string                 `json:"action"`
	Method string                 `json:"method"`
	Fields map[string]LegacyField `json:"fields"`
	Errors []LegacyError          `json:"errors,omitempty"`
}

type LegacyIdentity struct {
	ID              string         `json:"id"`
	TraitsSchemaID  string         `json:"traits_schema_id"`
	TraitsSchemaURL string         `json:"traits_schema_url"`
	Traits          map[string]any `json:"traits"`
}

type LegacyRequest struct {
	ID               string          `json:"id"`
	ExpiresAt        time.Time       `json:"expires_at"`
	IssuedAt         time.Time       `json:"issued_at"`
	RequestURL       string          `json:"request_url"`
	Form             LegacyForm      `json:"form"`
	Identity         *LegacyIdentity `json:"identity"`
	UpdateSuccessful bool            `json:"update_successful"`
}

// LegacyTextKey: node messages carry the Kratos v1 text for the settings
// flow; the legacy form shows the seed's wording, kept in the context.
const LegacyTextKey = "legacy_text"

// NewLegacyRequest is the seed's request shape of a profile flow, with the
// identity when id is not nil; schemaURL is where its schema is served.
func NewLegacyRequest(f *identity.Flow, id *identity.Identity, schemaURL string) LegacyRequest {
	fields := map[string]LegacyField{}
	for _, n := range f.UI.Nodes {
		a := n.Attributes
		lf := LegacyField{Name: a.Name, Type: legacyType(a), Value: a.Value, Required: a.Name == "csrf_token",
			Disabled: a.Disabled, Pattern: a.Pattern}
		for _, m := range n.Messages {
			lf.Errors = append(lf.Errors, LegacyError{Message: legacyText(m)})
		}
		fields[a.Name] = lf
	}
	out := LegacyRequest{
		ID: f.ID, ExpiresAt: f.ExpiresAt, IssuedAt: f.IssuedAt, RequestURL: f.RequestURL,
		Form:             LegacyForm{Action: f.UI.Action, Method: "POST", Fields: fields},
		UpdateSuccessful: f.State == identity.StateSuccess,
	}
	for _, m := range f.UI.Messages {
		if m.Type == text.Error {
			out.Form.Errors = append(out.Form.Errors, LegacyError{Message: legacyText(m)})
		}
	}
	if id != nil {
		traits := id.Traits
		if traits == nil {
			traits = map[string]any{}
		}
		out.Identity = &LegacyIdentity{ID: id.ID, TraitsSchemaID: id.SchemaID,
			TraitsSchemaURL: schemaURL, Traits: traits}
	}
	return out
}

// legacyType is v0.1's field type: taken from the value when there is one
// (text, number, checkbox), else from the schema.
func legacyType(a identity.InputAttributes) string {
	switch a.Value.(type) {
	case nil:
		return a.Type
	case bool:
		return "checkbox"
	case float64, int, int64, json.Number:
		return "number"
	case string:
		if a.Type == "hidden" || a.Type == "password" {
			return a.Type
		}
		return "text"
	}
	return a.Type
}

func legacyText(m text.Message) string {
	if t, ok := m.Context[LegacyTextKey].(string); ok {
		return t
	}
	return m.Text
}
