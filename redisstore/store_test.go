package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/identity/storetest"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// TestServer runs the contract suite and the Redis-only tests against one
// real redis-server.
func TestServer(t *testing.T) {
	addr := redistest.StartServer(t)
	newStore := storeFactory(Options{Addrs: []string{addr}})
	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) identity.Store { return newStore(t) }, storetest.Options{Dump: dumpStore})
	})
	t.Run("Claims", func(t *testing.T) { testClaims(t, newStore) })
	t.Run("RoundTrips", func(t *testing.T) { testRoundTrips(t, addr) })
	t.Run("CorruptRecord", func(t *testing.T) { testCorruptRecord(t, newStore) })
	t.Run("SessionIndex", func(t *testing.T) { testSessionIndex(t, newStore(t)) })
}

// TestCluster runs the contract suite and the cluster-only tests against a
// real three-node cluster.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster; skipped by -short, run by make test")
	}
	addrs := redistest.StartCluster(t, 3)
	newStore := storeFactory(Options{Addrs: addrs})
	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) identity.Store { return newStore(t) }, storetest.Options{Dump: dumpStore})
	})
	t.Run("SessionsOfManyIdentities", func(t *testing.T) { testSessionsAcrossSlots(t, newStore(t)) })
	t.Run("SessionIndex", func(t *testing.T) { testSessionIndex(t, newStore(t)) })
}

// storeFactory returns a function that makes a Store for opts under a fresh
// key prefix, closed when the test ends.
func storeFactory(opts Options) func(t *testing.T) *Store {
	return func(t *testing.T) *Store {
		opts.KeyPrefix = freshPrefix()
		s, err := New(opts)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

// freshPrefix returns a key prefix no other test uses.
func freshPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

// dumpStore lists every key under the store's prefix with its value.
func dumpStore(t *testing.T, st identity.Store) string {
	s := st.(*Store)
	var mu sync.Mutex
	var lines []string
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, s.keys.prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			var val any
			switch typ := c.Type(ctx, key).Val(); typ {
			case "string":
				val = c.Get(ctx, key).Val()
			case "zset":
				val = c.ZRangeWithScores(ctx, key, 0, -1).Val()
			case "hash":
				val = c.HGetAll(ctx, key).Val()
			case "stream":
				val = c.XRange(ctx, key, "-", "+").Val()
			default:
				val = "(" + typ + ")"
			}
			mu.Lock()
			lines = append(lines, fmt.Sprintf("%s = %v", key, val))
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(t.Context(), scan)
	case *redis.Client:
		err = scan(t.Context(), c)
	default:
		t.Fatalf("dump: unknown client %T", s.client)
	}
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// testSessionsAcrossSlots reads the sessions of many identities, whose
// records are in different slots of the cluster.
func testSessionsAcrossSlots(t *testing.T, s *Store) {
	ctx := t.Context()
	cluster, ok := s.client.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("several addresses gave a %T, not a cluster client", s.client)
	}
	nodes := map[string]bool{}
	tokens := map[string]string{} // token → identity id
	for range 40 {
		id := &identity.Identity{ID: identity.NewID(), Traits: map[string]any{"n": 1.0}}
		if err := s.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
		token := identity.NewSessionToken(id.ID)
		sess := &identity.Session{ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), Active: true}
		sess.ExpiresAt = sess.IssuedAt.AddDate(3000, 0, 0)
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		tokens[token] = id.ID
		node, err := cluster.MasterForKey(ctx, s.keys.identity(id.ID))
		if err != nil {
			t.Fatal(err)
		}
		nodes[node.Options().Addr] = true
	}
	if len(nodes) < 2 {
		t.Fatalf("all identities landed on %v; the test needs several nodes", nodes)
	}
	for token, identityID := range tokens {
		sess, id, err := s.GetSession(ctx, token)
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		if id.ID != identityID || sess.IdentityID != identityID {
			t.Errorf("GetSession gave identity %s, session of %s; want %s", id.ID, sess.IdentityID, identityID)
		}
		if _, _, f, err := s.GetSessionAndFlow(ctx, token, identity.NewID()); err != nil || f != nil {
			t.Errorf("GetSessionAndFlow(unknown flow) = %v, %v", f, err)
		}
	}
}
