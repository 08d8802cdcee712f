package identity

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Message statuses, as Kratos names them. A message is queued when a flow
// asks for it, processing while a worker holds it, and then sent or
// abandoned for good.
const (
	MessageQueued     = "queued"
	MessageProcessing = "processing"
	MessageSent       = "sent"
	MessageAbandoned  = "abandoned"
)

// MessageStatuses are the four statuses, in the order above.
var MessageStatuses = []string{MessageQueued, MessageProcessing, MessageSent, MessageAbandoned}

// MessageTypeEmail is the only message type (Kratos also has "sms").
const MessageTypeEmail = "email"

// Template types: which mail a message is. The first four are Kratos'
// (§1.10 and §2.8 of the recovery/verification spec); then the notice
// Kratos master sends to an address that was replaced, and ours to an
// address whose replacement was asked for (it stays in force until the new
// one is verified).
const (
	TemplateVerificationCodeValid   = "verification_code_valid"
	TemplateVerificationCodeInvalid = "verification_code_invalid"
	TemplateRecoveryCodeValid       = "recovery_code_valid"
	TemplateRecoveryCodeInvalid     = "recovery_code_invalid"
	TemplateAddressChanged          = "verifiable_address_changed"
	TemplateAddressChangeRequested  = "verifiable_address_change_requested"
)

// TemplateTypes are the template types above.
var TemplateTypes = []string{
	TemplateVerificationCodeValid, TemplateVerificationCodeInvalid,
	TemplateRecoveryCodeValid, TemplateRecoveryCodeInvalid,
	TemplateAddressChanged, TemplateAddressChangeRequested,
}

// Dispatch statuses: how one delivery attempt went.
const (
	DispatchSuccess = "success"
	DispatchFailed  = "failed"
)

// MessageRetention is how long a store keeps a message after it was
// queued, whatever became of it. A mail not delivered by then is dropped:
// the codes it carries have long expired.
const MessageRetention = 7 * 24 * time.Hour

// MaxDispatches bounds the dispatches a message keeps: the latest ones.
const MaxDispatches = 10

// Message is an outgoing mail, as Kratos' courier models it. A flow fills
// Recipient, TemplateType and TemplateData and queues it; the worker
// renders the subject and the bodies from the template at send time.
//
// The template data holds the codes and links the mail carries, so a store
// keeps it only while the message may still be sent: once a message is
// sent or abandoned its TemplateData is gone, and only the metadata stays.
// No rendered body is ever stored.
type Message struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Type      string `json:"type"`
	Recipient string `json:"recipient"`
	// Subject is the rendered subject, known after the first attempt.
	Subject      string `json:"subject,omitempty"`
	TemplateType string `json:"template_type"`
	// TemplateData are the values the template reads (.VerificationCode,
	// .RecoveryCode, .RequestURL, …), as JSON values; nil once the message
	// is sent or abandoned.
	TemplateData map[string]any `json:"template_data,omitempty"`
	// Lang is the language the mail is written in (a BCP 47 tag, the
	// language of the request that queued it); "" is the default one.
	Lang string `json:"lang,omitempty"`
	// SendCount is how many times a worker has claimed the message to send
	// it.
	SendCount  int        `json:"send_count"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	Dispatches []Dispatch `json:"dispatches,omitempty"`
}

// Dispatch is one delivery attempt of a message.
type Dispatch struct {
	ID        string    `json:"id"`
	MessageID string    `json:"message_id"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Delivery is what a worker reports about a message it claimed.
type Delivery struct {
	// Status is MessageSent, MessageAbandoned, or MessageQueued to try
	// again after RetryIn.
	Status  string
	RetryIn time.Duration
	// Subject is the rendered subject ("": unchanged).
	Subject string
	// Error says why the attempt failed ("" when sent). It must not carry
	// the recipient or the body.
	Error string
}

// MessageQuery selects a page of messages, newest first.
type MessageQuery struct {
	Status string // one of MessageStatuses, or "" for all
	After  string // a Next of an earlier page, or "" for the first page
	Limit  int    // at most this many; 0 returns only the Total
}

// MessagePage is one page of messages, without their dispatches.
type MessagePage struct {
	Messages []*Message
	Next     string // the After of the next page; "" on the last page
	Total    int    // how many messages match the query's status
}

// Messages is the courier's queue: flows queue mail, and a worker in each
// Caddy instance claims it, sends it and reports how that went. A claim is
// a lease: a message whose worker neither reports nor renews within the
// lease (its instance died) is claimed again by another worker.
type Messages interface {
	// QueueMessage stores m for delivery and returns at once; it never
	// waits on a mail server. It sets m's ID (when empty), Status
	// (queued), Type (email), SendCount and timestamps. This is the one
	// method flows call.
	QueueMessage(ctx context.Context, m *Message) error

	// ClaimMessages gives the worker up to n messages to send: queued ones
	// that are due, and processing ones whose claim is older than lease.
	// Each becomes processing, held by worker, its SendCount one higher.
	ClaimMessages(ctx context.Context, worker string, n int, lease time.Duration) ([]*Message, error)
	// SettleMessage records how a claimed message's attempt went (a
	// dispatch) and moves it on: sent, abandoned, or queued again after
	// d.RetryIn. A sent or abandoned message loses its TemplateData. A
	// message that is no longer processing (another worker settled it) is
	// left as it is; ErrNotFound when it is gone.
	SettleMessage(ctx context.Context, id string, d Delivery) error

	// ListMessages returns a page of messages, newest first.
	ListMessages(ctx context.Context, q MessageQuery) (MessagePage, error)
	// GetMessage returns a message with its dispatches.
	GetMessage(ctx context.Context, id string) (*Message, error)
}

// PrepareMessage fills in what QueueMessage sets, for a store: id,
// status, type, send count and timestamps. It refuses a message without a
// recipient or with an unknown template type.
func PrepareMessage(m *Message, now time.Time) error {
	if m == nil || m.Recipient == "" {
		return fmt.Errorf("message without a recipient")
	}
	if !knownTemplate(m.TemplateType) {
		return fmt.Errorf("message with unknown template type %q", m.TemplateType)
	}
	if m.ID == "" {
		m.ID = NewID()
	}
	if !WellFormedID(m.ID) {
		return fmt.Errorf("message id %q is not a UUID", m.ID)
	}
	now = now.UTC().Round(0)
	m.Status, m.Type, m.SendCount = MessageQueued, MessageTypeEmail, 0
	m.CreatedAt, m.UpdatedAt, m.Dispatches = now, now, nil
	return nil
}

func knownTemplate(t string) bool {
	for _, k := range TemplateTypes {
		if k == t {
			return true
		}
	}
	return false
}

// MessageCursor is the position of m in the newest-first order: its
// creation time in unix milliseconds (13 digits) and its id. Cursors
// compare as strings in the order of the messages.
func MessageCursor(m *Message) string {
	return fmt.Sprintf("%013d:%s", m.CreatedAt.UnixMilli(), m.ID)
}

// WellFormedMessageCursor reports whether c can be a MessageCursor.
func WellFormedMessageCursor(c string) bool {
	ms, id, ok := strings.Cut(c, ":")
	if !ok || len(ms) != 13 || !WellFormedID(id) {
		return false
	}
	for _, r := range ms {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// AddDispatch appends a dispatch of attempt d to m, keeping the latest
// MaxDispatches.
func AddDispatch(m *Message, d Delivery, now time.Time) {
	status := DispatchFailed
	if d.Status == MessageSent {
		status = DispatchSuccess
	}
	m.Dispatches = append(m.Dispatches, Dispatch{
		ID: NewID(), MessageID: m.ID, Status: status, Error: d.Error, CreatedAt: now.UTC().Round(0),
	})
	if n := len(m.Dispatches); n > MaxDispatches {
		m.Dispatches = append([]Dispatch(nil), m.Dispatches[n-MaxDispatches:]...)
	}
}

// ValidDelivery reports whether d is a report a store accepts.
func ValidDelivery(d Delivery) error {
	switch d.Status {
	case MessageSent, MessageAbandoned:
		return nil
	case MessageQueued:
		if d.RetryIn < 0 {
			return fmt.Errorf("delivery: negative retry delay %s", d.RetryIn)
		}
		return nil
	}
	return fmt.Errorf("delivery: status %q is not sent, abandoned or queued", d.Status)
}
