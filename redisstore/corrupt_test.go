package redisstore

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testCorruptRecord: an identity record that cannot be decoded (written by
// an older version, or by hand) is an internal fault: reading it says
// ErrCorrupt, not an outage, and a list leaves it out, with a log line that
// names its key, instead of failing for every identity on the page.
func testCorruptRecord(t *testing.T, newStore func(t *testing.T) *Store) {
	core, logs := observer.New(zap.DebugLevel)
	SetLogger(zap.New(core))
	t.Cleanup(func() { SetLogger(zap.NewNop()) })
	s := newStore(t)
	ctx := t.Context()

	good := &identity.Identity{ID: identity.NewID(), SchemaID: "default", State: identity.IdentityActive,
		Traits: map[string]any{"email": "good@example.com"}}
	if err := s.CreateIdentity(ctx, good); err != nil {
		t.Fatal(err)
	}
	bad := &identity.Identity{ID: identity.NewID(), SchemaID: "default", State: identity.IdentityActive,
		Traits: map[string]any{"email": "bad@example.com"}}
	if err := s.CreateIdentity(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Set(ctx, s.keys.identity(bad.ID), `{"traits": [[[`, 0).Err(); err != nil {
		t.Fatal(err)
	}

	if _, err := s.GetIdentity(ctx, bad.ID); !errors.Is(err, identity.ErrCorrupt) {
		t.Fatalf("GetIdentity of a corrupt record: %v, want ErrCorrupt", err)
	}
	list, _, err := s.ListIdentities(ctx, "", 10)
	if err != nil || len(list) != 1 || list[0].ID != good.ID {
		t.Fatalf("list: %v %v, want only the good identity", list, err)
	}
	found := false
	for _, e := range logs.All() {
		if e.Level == zap.ErrorLevel && strings.HasSuffix(e.ContextMap()["key"].(string), bad.ID) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no error line naming the corrupt record's key: %v", logs.All())
	}
}
