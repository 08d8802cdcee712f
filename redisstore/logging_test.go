package redisstore

import (
	"context"
	"net"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// With Redis unreachable, go-redis' own complaints go to our logger, once,
// not to stderr once per request.
func TestClientMessagesGoToTheLogger(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	SetLogger(zap.New(core))
	t.Cleanup(func() { SetLogger(zap.NewNop()) })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now

	s, err := New(Options{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	token := identity.NewSessionToken(identity.NewID())
	for range 10 {
		if _, _, err := s.GetSession(context.Background(), token); err == nil {
			t.Fatal("GetSession with nothing listening: no error")
		}
	}
	entries := logs.All()
	if len(entries) == 0 {
		t.Fatal("go-redis logged nothing through SetLogger's logger")
	}
	if len(entries) > 2 {
		t.Errorf("10 failed requests logged %d go-redis lines, want each message once", len(entries))
	}
	for _, e := range entries {
		if !strings.Contains(e.Message, "redis") || e.Level != zap.WarnLevel {
			t.Errorf("unexpected entry %v %q", e.Level, e.Message)
		}
	}
}
