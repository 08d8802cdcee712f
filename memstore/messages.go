package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

var _ identity.Messages = (*Store)(nil)

// messageQueue is the courier's in-process queue: the messages by id, each
// with when it is due and who holds it. Its zero value is empty and ready;
// it has a mutex of its own, so queueing mail never waits on the other
// records.
type messageQueue struct {
	mu   sync.Mutex
	byID map[string]queuedMessage // values, so a dump shows them
}

// queuedMessage is a stored message (as JSON, like every record here) and
// its place in the queue.
type queuedMessage struct {
	data      string    // identity.Message JSON, without dispatches' aliasing
	cursor    string    // identity.MessageCursor
	status    string    // the message's status, for filters
	dueAt     time.Time // queued: when it may be claimed
	claimedAt time.Time // processing: when it was claimed
	until     time.Time // when the store forgets it
}

// QueueMessage implements identity.Messages.
func (m *Store) QueueMessage(_ context.Context, msg *identity.Message) error {
	now := m.now()
	if err := identity.PrepareMessage(msg, now); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("memstore: encode message: %w", err)
	}
	q := &m.messages
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.byID == nil {
		q.byID = map[string]queuedMessage{}
	}
	q.sweep(now)
	if _, ok := q.byID[msg.ID]; ok {
		return identity.ErrExists
	}
	q.byID[msg.ID] = queuedMessage{
		data: string(data), cursor: identity.MessageCursor(msg), status: identity.MessageQueued,
		dueAt: now, until: msg.CreatedAt.Add(identity.MessageRetention),
	}
	return nil
}

// sweep forgets the messages past their retention; the caller holds q.mu.
func (q *messageQueue) sweep(now time.Time) {
	for id, e := range q.byID {
		if !now.Before(e.until) {
			delete(q.byID, id)
		}
	}
}

// ClaimMessages implements identity.Messages: the due messages, oldest
// first.
func (m *Store) ClaimMessages(_ context.Context, _ string, n int, lease time.Duration) ([]*identity.Message, error) {
	now := m.now()
	q := &m.messages
	q.mu.Lock()
	defer q.mu.Unlock()
	var due []queuedMessage
	for _, e := range q.byID {
		switch {
		case !now.Before(e.until):
		case e.status == identity.MessageQueued && !now.Before(e.dueAt),
			e.status == identity.MessageProcessing && !now.Before(e.claimedAt.Add(lease)):
			due = append(due, e)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].cursor < due[j].cursor })
	out := make([]*identity.Message, 0, min(n, len(due)))
	for _, e := range due[:min(n, len(due))] {
		msg, err := decodeMemory[identity.Message](e.data)
		if err != nil {
			return nil, err
		}
		msg.Status, msg.SendCount, msg.UpdatedAt = identity.MessageProcessing, msg.SendCount+1, now.UTC().Round(0)
		if err := e.put(msg); err != nil {
			return nil, err
		}
		e.claimedAt = now
		q.byID[msg.ID] = e
		out = append(out, msg)
	}
	return out, nil
}

// put replaces the entry's message.
func (e *queuedMessage) put(msg *identity.Message) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("memstore: encode message: %w", err)
	}
	e.data, e.status = string(data), msg.Status
	return nil
}

// SettleMessage implements identity.Messages.
func (m *Store) SettleMessage(_ context.Context, id string, d identity.Delivery) error {
	if err := identity.ValidDelivery(d); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	now := m.now()
	q := &m.messages
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.byID[id]
	if !ok || !now.Before(e.until) {
		return identity.ErrNotFound
	}
	if e.status != identity.MessageProcessing {
		return nil
	}
	msg, err := decodeMemory[identity.Message](e.data)
	if err != nil {
		return err
	}
	identity.AddDispatch(msg, d, now)
	msg.Status, msg.UpdatedAt = d.Status, now.UTC().Round(0)
	if d.Subject != "" {
		msg.Subject = d.Subject
	}
	if d.Status == identity.MessageQueued {
		e.dueAt = now.Add(d.RetryIn)
	} else {
		msg.TemplateData = nil
	}
	if err := e.put(msg); err != nil {
		return err
	}
	q.byID[id] = e
	return nil
}

// ListMessages implements identity.Messages.
func (m *Store) ListMessages(_ context.Context, query identity.MessageQuery) (identity.MessagePage, error) {
	now := m.now()
	q := &m.messages
	q.mu.Lock()
	defer q.mu.Unlock()
	var match []queuedMessage
	for _, e := range q.byID {
		if now.Before(e.until) && (query.Status == "" || e.status == query.Status) {
			match = append(match, e)
		}
	}
	page := identity.MessagePage{Total: len(match)}
	if query.Limit <= 0 {
		return page, nil
	}
	sort.Slice(match, func(i, j int) bool { return match[i].cursor > match[j].cursor })
	for _, e := range match {
		if query.After != "" && e.cursor >= query.After {
			continue
		}
		if len(page.Messages) == query.Limit {
			page.Next = identity.MessageCursor(page.Messages[len(page.Messages)-1])
			break
		}
		msg, err := decodeMemory[identity.Message](e.data)
		if err != nil {
			continue // a list leaves out what it cannot decode
		}
		msg.Dispatches = nil
		page.Messages = append(page.Messages, msg)
	}
	return page, nil
}

// GetMessage implements identity.Messages.
func (m *Store) GetMessage(_ context.Context, id string) (*identity.Message, error) {
	now := m.now()
	q := &m.messages
	q.mu.Lock()
	e, ok := q.byID[id]
	var data string
	if ok && now.Before(e.until) {
		data = e.data
	}
	q.mu.Unlock()
	if data == "" {
		return nil, identity.ErrNotFound
	}
	return decodeMemory[identity.Message](data)
}
