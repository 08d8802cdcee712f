package memstore

import (
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// codeTable keeps the one-time codes of flows, under its own mutex.
type codeTable struct {
	mu      sync.Mutex
	byFlow  map[string]*memoryCode // flow id → its code and submission count
	key     []byte                 // the store's code key (CodeKey)
	written int                    // writes since the last sweep
}

// memoryCode is a flow's code (nil before one was sent) and how many codes
// were submitted to the flow.
type memoryCode struct {
	code    *identity.Code
	submits int
	until   time.Time
}

// entry returns the flow's record, a new one when it has none or it
// expired; the caller holds t.mu.
func (t *codeTable) entry(flowID string, now, keepUntil time.Time) *memoryCode {
	if t.byFlow == nil {
		t.byFlow = map[string]*memoryCode{}
	}
	t.written++
	if t.written >= 1000 {
		t.written = 0
		for id, e := range t.byFlow {
			if !now.Before(e.until) {
				delete(t.byFlow, id)
			}
		}
	}
	e, ok := t.byFlow[flowID]
	if !ok || !now.Before(e.until) {
		e = &memoryCode{}
		t.byFlow[flowID] = e
	}
	if keepUntil.After(e.until) {
		e.until = keepUntil
	}
	return e
}

// SaveCode implements identity.Codes.
func (m *Store) SaveCode(_ context.Context, c *identity.Code, keepUntil time.Time) error {
	cp := *c
	t := &m.codes
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entry(c.FlowID, m.now(), keepUntil).code = &cp
	return nil
}

// UseCode implements identity.Codes.
func (m *Store) UseCode(_ context.Context, flowID string, hashes []string, now, keepUntil time.Time, maxSubmits int) (*identity.Code, error) {
	t := &m.codes
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entry(flowID, m.now(), keepUntil)
	e.submits++
	switch {
	case e.submits > maxSubmits:
		return nil, identity.ErrCodeTooManySubmits
	case e.code == nil || !slices.Contains(hashes, e.code.Hash):
		return nil, identity.ErrCodeInvalid
	case !now.Before(e.code.ExpiresAt):
		return nil, identity.ErrCodeExpired
	case e.code.Used:
		return nil, identity.ErrCodeUsed
	}
	e.code.Used = true
	out := *e.code
	return &out, nil
}

// CodeKey implements identity.Codes.
func (m *Store) CodeKey(context.Context) ([]byte, error) {
	t := &m.codes
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.key == nil {
		t.key = make([]byte, 32)
		if _, err := rand.Read(t.key); err != nil {
			t.key = nil
			return nil, err
		}
	}
	return slices.Clone(t.key), nil
}
