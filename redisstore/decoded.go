package redisstore

import (
	"fmt"
	"sync"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/recordcopy"
)

// Every request with a session reads its session and its identity, whose
// JSON rarely changes between two requests. Decoding them is most of what
// whoami and an app request cost Caddy, so the store keeps the records it
// decoded lately by their exact JSON, and answers a read of the same JSON
// with a copy (internal/recordcopy, which gives what decoding gives), or,
// for a reader that changes nothing (ViewSession), with the record itself. The
// JSON still comes from Redis on every read: only the decoding is saved, so
// nothing read can be stale. What is kept is bounded (decodedMaxBytes).

// decodedMaxBytes bounds the JSON one generation of a decodedCache holds;
// the decoded records take a few times as much. decodedMaxRecord is the
// largest record kept.
const (
	decodedMaxBytes  = 512 << 10
	decodedMaxRecord = 16 << 10
)

// decodedCache holds records decoded from their JSON in two generations: a
// new one takes over when the current one is full, so the records in use
// stay and the others go.
type decodedCache[T any] struct {
	mu       sync.Mutex
	cur, old map[string]*T
	curBytes int
}

// decodeCached decodes data, or takes the record decoded from the same data
// before. With ownCopy the record returned is the caller's; without, it may
// be the kept one, which nobody may change (identity.Sessions.ViewSession).
func decodeCached[T any](c *decodedCache[T], data string, ownCopy bool) (*T, error) {
	if len(data) > decodedMaxRecord {
		return decode[T](data)
	}
	c.mu.Lock()
	v, ok := c.cur[data]
	if !ok {
		if v, ok = c.old[data]; ok {
			c.add(data, v)
		}
	}
	c.mu.Unlock()
	if !ok {
		var err error
		if v, err = decode[T](data); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.add(data, v)
		c.mu.Unlock()
	}
	if !ownCopy {
		return v, nil
	}
	out, err := recordcopy.Clone(v)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w: %v", identity.ErrCorrupt, err)
	}
	return out, nil
}

// add keeps v, which nobody changes, as the record of data. The caller
// holds c.mu.
func (c *decodedCache[T]) add(data string, v *T) {
	if c.curBytes+len(data) > decodedMaxBytes {
		c.old, c.cur, c.curBytes = c.cur, nil, 0
	}
	if c.cur == nil {
		c.cur = map[string]*T{}
	}
	if _, ok := c.cur[data]; !ok {
		c.cur[data] = v
		c.curBytes += len(data)
	}
}
