package redisstore

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Under load many requests look their session up at once. Each lookup is
// one script call and needs its own round trip, but nothing says the
// round trips cannot be shared: while one pipeline of lookups is in
// flight, the lookups that arrive wait, and go together in the next one.
// A lookup alone is sent at once; under load, a lookup waits at most for
// the pipeline in flight, and Caddy and Redis make one write and one read
// per pipeline instead of per request. It is still one round trip per
// request, and the same commands.

// sessionBatch gathers the session lookups waiting for the pipeline in
// flight.
type sessionBatch struct {
	mu      sync.Mutex
	busy    bool // a pipeline of lookups is in flight
	pending []*sessionRead
}

// sessionRead is one lookup: its script call, its answer, and the channel
// that wakes its caller (true: the caller sends the next pipeline).
type sessionRead struct {
	call scriptCall
	cmd  *redis.Cmd
	wake chan bool
}

// readSession runs getSessionScript for keys and arg, in a pipeline with
// the lookups of other requests when there are any. The pipeline does not
// end with the context of the request that sends it (the others' would
// fail with it); the client's timeouts bound it.
func (s *Store) readSession(ctx context.Context, keys []string, arg string) *redis.Cmd {
	r := &sessionRead{call: scriptCall{script: getSessionScript, keys: keys, args: []any{arg}}, wake: make(chan bool, 1)}
	b := &s.batch
	b.mu.Lock()
	if b.busy {
		b.pending = append(b.pending, r)
		b.mu.Unlock()
		if lead := <-r.wake; !lead {
			return r.cmd
		}
	} else {
		b.busy = true
		b.mu.Unlock()
	}
	s.sendSessionReads(context.WithoutCancel(ctx), r)
	return r.cmd
}

// sendSessionReads sends r and every lookup waiting in one pipeline, wakes
// their callers, and hands the next pipeline to the first lookup that came
// meanwhile.
func (s *Store) sendSessionReads(ctx context.Context, r *sessionRead) {
	b := &s.batch
	b.mu.Lock()
	batch := append([]*sessionRead{r}, b.pending...)
	b.pending = nil
	b.mu.Unlock()

	calls := make([]scriptCall, len(batch))
	for i, x := range batch {
		calls[i] = x.call
	}
	for i, cmd := range s.runScripts(ctx, calls) {
		batch[i].cmd = cmd
	}
	for _, x := range batch[1:] {
		x.wake <- false
	}

	b.mu.Lock()
	if len(b.pending) == 0 {
		b.busy = false
		b.mu.Unlock()
		return
	}
	next := b.pending[0]
	b.pending = b.pending[1:]
	b.mu.Unlock()
	next.wake <- true
}
