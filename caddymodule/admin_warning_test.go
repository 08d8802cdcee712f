package caddymodule

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestWarnIfPublicAdmin(t *testing.T) {
	for addr, warn := range map[string]bool{"127.0.0.1:4434": false, "[::1]:4434": false, "10.0.0.7:4434": true, "[2001:db8::1]:4434": true} {
		core, logs := observer.New(zap.DebugLevel)
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/admin/identities", nil)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(tcp)))
		warnIfPublic(zap.New(core), r)
		if got := logs.Len() == 1 && logs.All()[0].ContextMap()["address"] == tcp.String(); got != warn {
			t.Errorf("%s: logged %v, want a warning: %v", addr, logs.All(), warn)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:4434": true, "tcp/127.0.0.1:4434": true, "[::1]:4434": true, "localhost:4434": true,
		"unix//run/kratos-admin.sock": true, "tcp4/127.0.0.2:4434-4440": true,
		":4434": false, "0.0.0.0:4434": false, "tcp/0.0.0.0:4434": false, "[::]:4434": false,
		"10.0.0.7:4434": false, "admin.internal:4434": false,
	} {
		na, err := caddy.ParseNetworkAddress(addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := loopbackOnly(na); got != want {
			t.Errorf("%s: loopback only %v, want %v", addr, got, want)
		}
	}
}
