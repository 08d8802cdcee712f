// Package text is the message catalogue: every Kratos message id this
// project answers with, its English text and the values its text names
// (the context), in one place. Ory's UIs translate by id, so the ids and
// the context keys are part of the wire contract; the texts are Kratos'
// own wording (v1.3.1), except where a constructor says otherwise.
//
// A new message is a new constant in id.go and a constructor in
// messages.go; nothing else in the project writes a message id.
package text
