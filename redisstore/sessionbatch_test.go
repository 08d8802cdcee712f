package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// TestConcurrentSessionLookups: lookups sent together in a pipeline
// (sessionbatch.go) each get their own session and identity, or not found,
// however many run at once, and one whose context is cancelled does not
// fail the others.
func TestConcurrentSessionLookups(t *testing.T) {
	s := storeFactory(Options{Addrs: []string{redistest.StartServer(t)}})(t)
	ctx := t.Context()
	const users = 20
	tokens := make([]string, users)
	ids := make([]string, users)
	for i := range users {
		id := &identity.Identity{ID: identity.NewID(), State: identity.IdentityActive, Traits: map[string]any{"n": float64(i)}}
		if err := s.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
		token := identity.NewSessionToken(id.ID)
		sess := &identity.Session{ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), Active: true, ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		tokens[i], ids[i] = token, id.ID
	}
	unknown := identity.NewSessionToken(identity.NewID())

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Go(func() {
			for n := range 30 {
				i := (g + n) % users
				lookupCtx := ctx
				if n%7 == 3 {
					cancelled, cancel := context.WithCancel(ctx)
					cancel()
					lookupCtx = cancelled
				}
				if g%8 == 0 {
					if _, _, err := s.GetSession(lookupCtx, unknown); !errors.Is(err, identity.ErrNotFound) && !errors.Is(err, context.Canceled) {
						errs <- fmt.Errorf("unknown token: %v, want ErrNotFound", err)
						return
					}
					continue
				}
				sess, id, err := s.GetSession(lookupCtx, tokens[i])
				switch {
				case err != nil && lookupCtx != ctx && errors.Is(err, context.Canceled):
					// Its own context may end its lookup, no other.
				case err != nil:
					errs <- fmt.Errorf("user %d: %v", i, err)
					return
				case id.ID != ids[i] || sess.IdentityID != ids[i] || id.Traits["n"] != float64(i):
					errs <- fmt.Errorf("user %d got identity %s (n=%v), want %s", i, id.ID, id.Traits["n"], ids[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
