package caddymodule

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// The admin API needs no credentials, so it belongs on a private listener.
const publicAdminWarning = "the admin API listens beyond loopback: anyone who can reach it can read and change every identity; " +
	"bind it to 127.0.0.1 (in a Caddyfile, `bind 127.0.0.1`: a site address alone listens on every interface) or to a private network"

// warnPublicListen warns, as the admin handler is provisioned, of each
// listen address of its server that is not loopback only. The http app
// provisions a server's handlers with the server in the context
// (caddyhttp.ServerCtxKey), its listen addresses already expanded, so the
// warning comes at start, before any request. It reports false when the
// handler is provisioned outside an http server and cannot tell.
func warnPublicListen(ctx caddy.Context, log *zap.Logger) bool {
	srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if !ok || srv == nil {
		return false
	}
	for _, addr := range srv.Listen {
		na, err := caddy.ParseNetworkAddress(addr)
		if err != nil {
			continue // the server refuses it when it starts
		}
		if !loopbackOnly(na) {
			log.Warn(publicAdminWarning, zap.String("address", addr))
		}
	}
	return true
}

// loopbackOnly reports whether a listen address is reachable from this host
// only, judged as Caddy judges its own admin endpoint: a unix socket or
// file descriptor, localhost, or a loopback IP. No host is every interface,
// and any other host name may resolve anywhere.
func loopbackOnly(na caddy.NetworkAddress) bool {
	if na.IsUnixNetwork() || na.IsFdNetwork() || na.Host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(na.Host)
	return err == nil && ip.IsLoopback()
}

// warnIfPublic is the fallback of warnPublicListen for a handler
// provisioned outside an http server: the first admin request tells
// whether it came in on a loopback address.
func warnIfPublic(log *zap.Logger, r *http.Request) {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		host = addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() {
		log.Warn(publicAdminWarning, zap.String("address", addr.String()))
	}
}
