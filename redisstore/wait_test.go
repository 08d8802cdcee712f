package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/identity/storetest"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

func TestWaitOptions(t *testing.T) {
	sentinel := Options{Addrs: []string{"10.0.0.1:26379"}, MasterName: "mymaster"}
	for _, tc := range []struct {
		name     string
		opts     Options
		wantErr  string
		wantWait time.Duration
	}{
		{name: "off", opts: Options{Addrs: []string{"10.0.0.1:6379"}}},
		{name: "default timeout", opts: Options{Addrs: []string{"10.0.0.1:6379"}, WaitReplicas: 1}, wantWait: DefaultWaitTimeout},
		{name: "sentinel", opts: with(sentinel, 2, 250*time.Millisecond), wantWait: 250 * time.Millisecond},
		{name: "negative", opts: with(sentinel, -1, 0), wantErr: "wait_replicas -1 is negative"},
		{name: "timeout alone", opts: with(sentinel, 0, time.Second), wantErr: "wait_timeout without wait_replicas"},
		{name: "too long", opts: with(sentinel, 1, 2*time.Second), wantErr: "wait_timeout 2s is not between 0 and 1s"},
		{name: "cluster", opts: Options{Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000"}, WaitReplicas: 1}, wantErr: "not a cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := tc.opts.target()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tg.waitTimeout != tc.wantWait {
				t.Fatalf("wait timeout %s, want %s", tg.waitTimeout, tc.wantWait)
			}
			if with := strings.Contains(tc.opts.Key(), " wait="); with != (tc.wantWait != 0) {
				t.Fatalf("Key %q: names the wait %t, want %t", tc.opts.Key(), with, tc.wantWait != 0)
			}
		})
	}
}

func with(o Options, replicas int, timeout time.Duration) Options {
	o.WaitReplicas, o.WaitTimeout = replicas, timeout
	return o
}

// TestWaitReplicas runs the contract suite on a Sentinel group with every
// write waiting for the replica, and checks that without a replica writes
// fail while reads work.
func TestWaitReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Sentinel group; skipped with -short")
	}
	t.Run("Contract", func(t *testing.T) {
		group := redistest.StartSentinel(t, 1)
		newStore := storeFactory(Options{Addrs: group.Sentinels, MasterName: redistest.SentinelMaster, WaitReplicas: 1})
		storetest.Run(t, func(t *testing.T) identity.Store { return newStore(t) }, storetest.Options{Dump: dumpStore})
	})
	t.Run("WithoutReplica", func(t *testing.T) {
		addr := redistest.StartServer(t)
		plain := storeFactory(Options{Addrs: []string{addr}})(t)
		waiting, err := New(Options{Addrs: []string{addr}, KeyPrefix: strings.TrimSuffix(plain.keys.prefix, ":"), WaitReplicas: 1, WaitTimeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer waiting.Close()
		ctx := t.Context()
		id, token := waitFixture(t, ctx, plain)

		if _, _, err := waiting.GetSession(ctx, token); err != nil {
			t.Fatalf("a read waits for no replica: %v", err)
		}
		start := time.Now()
		other := &identity.Identity{ID: identity.NewID(), Traits: map[string]any{"email": "b@example.com"}}
		err = waiting.CreateIdentity(ctx, other)
		if !errors.Is(err, errNotReplicated) {
			t.Fatalf("a write no replica acknowledged: error %v, want %v", err, errNotReplicated)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("the failed write took %s, want about the 20ms timeout per command", took)
		}
		sess, _, err := plain.GetSession(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		sess.Active = false
		if err := waiting.UpdateSession(ctx, sess); !errors.Is(err, errNotReplicated) {
			t.Fatalf("a session write no replica acknowledged: error %v, want %v", err, errNotReplicated)
		}
		if _, err := waiting.GetIdentity(ctx, id.ID); err != nil {
			t.Fatalf("GetIdentity: %v", err)
		}
	})
}

// waitFixture stores an identity with a session and returns them.
func waitFixture(t testing.TB, ctx context.Context, s *Store) (*identity.Identity, string) {
	t.Helper()
	id := &identity.Identity{ID: identity.NewID(), Traits: map[string]any{"email": "a@example.com"}, Password: &identity.PasswordCredential{Identifiers: []string{"a@example.com"}}}
	if err := s.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	token := identity.NewSessionToken(id.ID)
	sess := &identity.Session{ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), Active: true, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	return id, token
}

// BenchmarkWaitReplicas measures a session write (UpdateSession, one
// script) and a read (GetSession) on a Sentinel group's master with
// asynchronous replication and with wait_replicas 1: the write then waits
// for the replica's acknowledgement, the read does not.
func BenchmarkWaitReplicas(b *testing.B) {
	group := redistest.StartSentinel(b, 1)
	for _, replicas := range []int{0, 1} {
		name := "async"
		if replicas > 0 {
			name = "wait_replicas_1"
		}
		s, err := New(Options{Addrs: group.Sentinels, MasterName: redistest.SentinelMaster, KeyPrefix: freshPrefix(), WaitReplicas: replicas})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		ctx := b.Context()
		_, token := waitFixture(b, ctx, s)
		sess, _, err := s.GetSession(ctx, token)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/UpdateSession", func(b *testing.B) {
			for b.Loop() {
				if err := s.UpdateSession(ctx, sess); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/GetSession", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.GetSession(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
