package courier

import (
	"context"
	"sync"
	"time"
)

// MailboxSize is how many mails a Mailbox keeps: the latest.
const MailboxSize = 200

// Mailbox is the development Sender: it sends nothing and keeps the latest
// MailboxSize mails in memory, so a demo or a test can read the codes they
// carry. It is safe for concurrent use.
type Mailbox struct {
	now func() time.Time

	mu   sync.Mutex
	kept []Kept // oldest first
}

// Kept is a mail the Mailbox received.
type Kept struct {
	Mail
	At time.Time
}

var _ Sender = (*Mailbox)(nil)

// NewMailbox returns an empty Mailbox on the clock now (nil: time.Now).
func NewMailbox(now func() time.Time) *Mailbox {
	if now == nil {
		now = time.Now
	}
	return &Mailbox{now: now}
}

// Send implements Sender: it keeps m.
func (b *Mailbox) Send(_ context.Context, m Mail) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.kept = append(b.kept, Kept{Mail: m, At: b.now().UTC()})
	if len(b.kept) > MailboxSize {
		b.kept = append([]Kept(nil), b.kept[len(b.kept)-MailboxSize:]...)
	}
	return nil
}

// Mails returns the kept mails, newest first.
func (b *Mailbox) Mails() []Kept {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Kept, len(b.kept))
	for i, k := range b.kept {
		out[len(b.kept)-1-i] = k
	}
	return out
}

// Body returns the plain-text body of the latest mail kept for the
// message with this id, and whether there is one.
func (b *Mailbox) Body(messageID string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.kept) - 1; i >= 0; i-- {
		if b.kept[i].MessageID == messageID {
			return b.kept[i].Text, true
		}
	}
	return "", false
}
