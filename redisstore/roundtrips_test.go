package redisstore

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// countingHook counts the commands and pipelines a client sends, but not
// those that set up a new connection.
type countingHook struct{ trips atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !connectionSetup(cmd) {
			h.trips.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !slices.ContainsFunc(cmds, connectionSetup) {
			h.trips.Add(1)
		}
		return next(ctx, cmds)
	}
}

// connectionSetup reports whether cmd is one go-redis sends on a new
// connection.
func connectionSetup(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

// testRoundTrips checks that the hot paths cost one round trip each.
func testRoundTrips(t *testing.T, addr string) {
	client := redis.NewClient(&redis.Options{Addr: addr})
	hook := &countingHook{}
	client.AddHook(hook)
	s := NewWithClient(client, freshPrefix())
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()

	id := &identity.Identity{ID: identity.NewID()}
	if err := s.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	token := identity.NewSessionToken(id.ID)
	sess := &identity.Session{ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	f := &identity.Flow{ID: identity.NewIDFor(id.ID), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.SaveFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	// The scripts are cached by the server after their first use.
	if _, _, err := s.GetSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	read, err := s.GetIdentity(ctx, id.ID)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		call func() error
	}{
		{"GetSession", func() error { _, _, err := s.GetSession(ctx, token); return err }},
		{"GetSessionAndFlow", func() error { _, _, _, err := s.GetSessionAndFlow(ctx, token, f.ID); return err }},
		{"GetSessionAndFlow without flow", func() error { _, _, _, err := s.GetSessionAndFlow(ctx, token, identity.NewID()); return err }},
		{"GetSession unknown token", func() error { _, _, _ = s.GetSession(ctx, identity.NewSessionToken(id.ID)); return nil }},
		// The settings write: the caller passes the identity it read.
		{"UpdateIdentityAndFlow with the read identity", func() error {
			next := *read
			err := s.UpdateIdentityAndFlow(ctx, read, &next, f)
			id.Version = next.Version
			return err
		}},
		{"UpdateIdentity keeping identifiers", func() error { return s.UpdateIdentity(ctx, id) }},
	}
	want := map[string]int64{"UpdateIdentity keeping identifiers": 2}
	for _, tc := range cases {
		before := hook.trips.Load()
		if err := tc.call(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		n, w := hook.trips.Load()-before, want[tc.name]
		if w == 0 {
			w = 1
		}
		if n != w {
			t.Errorf("%s took %d round trips, want %d", tc.name, n, w)
		}
	}

	before := hook.trips.Load()
	if _, _, err := s.GetSession(ctx, "ory_st_{bad}"); err == nil {
		t.Error("GetSession(bad token) found a session")
	}
	if n := hook.trips.Load() - before; n != 0 {
		t.Errorf("GetSession(bad token) took %d round trips, want 0", n)
	}
}
