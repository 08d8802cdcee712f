package locale

import (
	"regexp"

	"github.com/seed06f30684/caddy-kratos/text"
)

var formatRe = regexp.MustCompile(`is not valid "([a-z-]+)"$`)

// Variant names which of the situations one Kratos message id covers a
// message is about, so that a person reads what to do rather than what
// the validator found: the format of an invalid value, the type a value
// should have, and our own reasons under the generic id. inputType is the
// HTML input type of the field the message is on ("" for none).
func Variant(m text.Message, inputType string) string {
	switch m.ID {
	case text.ErrorValidationInvalidFormat:
		if reason, _ := m.Context["reason"].(string); reason != "" {
			if f := formatRe.FindStringSubmatch(reason); f != nil {
				return f[1]
			}
		}
		return inputType
	case text.ErrorValidationWrongType:
		switch types := m.Context["allowed_types"].(type) {
		case []string:
			if len(types) > 0 {
				return types[0]
			}
		case []any:
			if len(types) > 0 {
				s, _ := types[0].(string)
				return s
			}
		}
	case text.ErrorValidationGeneric:
		if _, ok := m.Context["retry_after_minutes"]; ok {
			return "throttled"
		}
		switch m.Context["reason"] {
		case "version conflict":
			return "conflict"
		case text.CodeSubmittedTooOften().Text:
			return "too_often"
		case text.CodeUsed().Text:
			return "code_used"
		}
	}
	return ""
}

// Text is m for a person in this language: Message with m's variant. A
// value of the wrong format, which Kratos reports under the generic id
// with the validator's reason, reads as the format's own message.
func (l *Lang) Text(m text.Message, inputType string) string {
	if m.ID == text.ErrorValidationGeneric {
		if reason, _ := m.Context["reason"].(string); reason != "" {
			if f := formatRe.FindStringSubmatch(reason); f != nil {
				return l.Message(text.ErrorValidationInvalidFormat, f[1], m.Context, m.Text)
			}
		}
	}
	return l.Message(m.ID, Variant(m, inputType), m.Context, m.Text)
}
