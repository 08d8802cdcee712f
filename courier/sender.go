package courier

import "context"

// Mail is a rendered message ready to go.
type Mail struct {
	MessageID    string // the identity.Message id
	TemplateType string
	To           string
	Rendered
}

// Sender delivers one mail. An error whose SMTP reply code is 5xx
// (PermanentError reports it) abandons the message; any other error is
// retried.
type Sender interface {
	Send(ctx context.Context, m Mail) error
}
