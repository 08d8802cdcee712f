package caddymodule

import (
	"context"
	"net"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed06f30684/caddy-kratos/redisstore"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// TestPingOnce: a Redis store that does not answer is warned of once,
// naming its endpoints; one that answers is not.
func TestPingOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close() // nothing listens there now
	for _, tc := range []struct {
		addr string
		warn bool
	}{{closed, true}, {redistest.StartServer(t), false}} {
		opts := redisstore.Options{Addrs: []string{tc.addr}}
		s, err := redisstore.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		core, logs := observer.New(zap.DebugLevel)
		pingOnce(context.Background(), s, opts.Endpoints(), zap.New(core))
		_ = s.Close()
		switch {
		case tc.warn && (logs.Len() != 1 || logs.All()[0].ContextMap()["endpoints"] == nil):
			t.Fatalf("%s: logged %v, want one warning naming the endpoints", tc.addr, logs.All())
		case !tc.warn && logs.Len() != 0:
			t.Errorf("%s answers, but logged %v", tc.addr, logs.All())
		}
		if tc.warn {
			if eps, _ := logs.All()[0].ContextMap()["endpoints"].([]any); len(eps) != 1 || eps[0] != closed {
				t.Errorf("endpoints %v, want [%s]", logs.All()[0].ContextMap()["endpoints"], closed)
			}
		}
	}
}
