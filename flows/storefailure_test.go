package flows

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/storelog"
)

// downStore fails every session lookup like an unreachable Redis.
type downStore struct{ identity.Store }

func (downStore) GetSession(context.Context, string) (*identity.Session, *identity.Identity, error) {
	return nil, nil, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
}

func (d downStore) ViewSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	return d.GetSession(ctx, token)
}

func TestStoreFailuresLoggedOncePerInterval(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	c := newFlowEnv(t, func(c *Config) { c.Store, c.Logger = downStore{c.Store}, zap.New(core) }).newClient(callerAPI)
	c.signIn(identity.NewSessionToken(identity.NewID()))
	for range 50 {
		w := c.get(DefaultPublicPrefix + "/sessions/whoami")
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("whoami with the store down: %d %s, want 503", w.Code, w.Body)
		}
	}
	if n := logs.Len(); n != 1 {
		t.Fatalf("50 failed requests logged %d lines, want 1 per %s", n, storelog.Interval)
	}
	if e := logs.All()[0]; e.Level != zap.ErrorLevel || e.ContextMap()["error"] == nil {
		t.Errorf("the line is %v %v, want an error with the store's error", e.Level, e.ContextMap())
	}
}
