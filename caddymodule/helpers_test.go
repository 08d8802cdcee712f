package caddymodule

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/memstore"
	"github.com/seed06f30684/caddy-kratos/redisstore"
)

// testSchema is a small valid identity schema.
const testSchema = `{
  "$id": "https://example.org/identity.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "email": {
      "type": "string",
      "format": "email",
      "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
    }
  },
  "required": ["email"]
}`

// writeSchema writes testSchema to a temporary file and returns its path.
func writeSchema(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "identity.schema.json")
	if err := os.WriteFile(path, []byte(testSchema), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// caddyContext returns a Caddy context that is cancelled when the test ends.
func caddyContext(t *testing.T) caddy.Context {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return ctx
}

// provision provisions h and releases it when the test ends.
func provision(t *testing.T, h *Handler) error {
	t.Helper()
	err := h.Provision(caddyContext(t))
	t.Cleanup(func() {
		if err := h.Cleanup(); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
	return err
}

// countingStore is a store whose Close is only counted, so tests can see
// when the pool closes it.
type countingStore struct {
	identity.Store
	closed atomic.Int32
}

func (s *countingStore) Close() error {
	s.closed.Add(1)
	return nil
}

// watchMemoryStores makes the memory stores the pool opens during the test
// counting stores, and returns the list they are recorded in.
func watchMemoryStores(t *testing.T) *[]*countingStore {
	t.Helper()
	var made []*countingStore
	orig := newMemoryStore
	newMemoryStore = func() identity.Store {
		s := &countingStore{Store: memstore.New()}
		made = append(made, s)
		return s
	}
	t.Cleanup(func() { newMemoryStore = orig })
	return &made
}

// watchRedisStores is watchMemoryStores for the Redis store: the real
// constructor runs, and Close is only counted.
func watchRedisStores(t *testing.T) *[]*countingStore {
	t.Helper()
	var made []*countingStore
	orig := newRedisStore
	newRedisStore = func(o redisstore.Options) (identity.Store, error) {
		s, err := orig(o)
		if err != nil {
			return nil, err
		}
		c := &countingStore{Store: s}
		made = append(made, c)
		return c, nil
	}
	t.Cleanup(func() { newRedisStore = orig })
	return &made
}
