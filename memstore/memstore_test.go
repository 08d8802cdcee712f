package memstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/identity/storetest"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
	"github.com/seed06f30684/caddy-kratos/memstore"
)

func TestMemoryStore(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	storetest.Run(t, func(t *testing.T) identity.Store {
		s := memstore.NewWithClock(clock.Now)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, storetest.Options{
		Now:  clock.Now,
		Wait: clock.Add,
		// fmt prints unexported fields, so this shows every key and value
		// the store holds.
		Dump: func(_ *testing.T, s identity.Store) string { return fmt.Sprintf("%+v", s) },
	})
}

// TestMemoryStoreSweeps checks that expired entries nobody reads again are
// removed by a later write.
func TestMemoryStoreSweeps(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := memstore.NewWithClock(clock.Now)
	ctx := t.Context()
	id := &identity.Identity{ID: identity.NewID()}
	if err := s.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	token := identity.NewSessionToken(id.ID)
	sess := &identity.Session{ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), Active: true, ExpiresAt: clock.Now().Add(time.Minute)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	f := &identity.Flow{ID: identity.NewID(), ExpiresAt: clock.Now()}
	if err := s.SaveFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveContinuity(ctx, "c", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	before := fmt.Sprintf("%+v", s)

	clock.Add(identity.FlowGrace + time.Hour)
	if err := s.SaveContinuity(ctx, "other", []byte("y"), time.Hour); err != nil {
		t.Fatal(err)
	}
	after := fmt.Sprintf("%+v", s)
	for what, key := range map[string]string{"session": sess.TokenHash, "session id": sess.ID, "flow": f.ID, "continuity": "c:{data:x "} {
		if !strings.Contains(before, key) {
			t.Fatalf("the %s is not in the store before the sweep: %s", what, before)
		}
		if strings.Contains(after, key) {
			t.Errorf("the expired %s is still in the store after a write: %s", what, after)
		}
	}
}

func BenchmarkMemoryStoreGetSession(b *testing.B) {
	s := memstore.New()
	ctx := b.Context()
	id := &identity.Identity{ID: identity.NewID(), Traits: map[string]any{"email": "a@example.com"}}
	if err := s.CreateIdentity(ctx, id); err != nil {
		b.Fatal(err)
	}
	token := identity.NewSessionToken(id.ID)
	sess := &identity.Session{ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), Active: true, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.GetSession(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}
