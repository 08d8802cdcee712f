package caddymodule

import (
	"net"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// RateLimitConfig bounds guessing. The counts live in the store, so every
// Caddy instance on the same Redis shares them. On by default.
type RateLimitConfig struct {
	// Off turns both limits off.
	Off bool `json:"off,omitempty"`
	// LoginFailures bounds failed logins per identifier, whether or not the
	// account exists. Default: 5 per 15m.
	LoginFailures *LimitConfig `json:"login_failures,omitempty"`
	// Requests bounds login and registration requests per client IP, as
	// Caddy sees it (behind trusted_proxies, the forwarded one).
	// Default: 300 per 1m.
	Requests *LimitConfig `json:"requests,omitempty"`
}

// LimitConfig is a number of events per duration.
type LimitConfig struct {
	Events int            `json:"events"`
	Per    caddy.Duration `json:"per"`
}

// Default limits.
var (
	defaultLoginFailures = identity.Limit{Events: 5, Per: 15 * time.Minute}
	defaultRequests      = identity.Limit{Events: 300, Per: time.Minute}
)

// limits returns the login and request limits of the config; zero when
// off.
func (c *RateLimitConfig) limits() (login, requests identity.Limit) {
	login, requests = defaultLoginFailures, defaultRequests
	if c == nil {
		return login, requests
	}
	if c.Off {
		return identity.Limit{}, identity.Limit{}
	}
	if c.LoginFailures != nil {
		login = identity.Limit{Events: c.LoginFailures.Events, Per: time.Duration(c.LoginFailures.Per)}
	}
	if c.Requests != nil {
		requests = identity.Limit{Events: c.Requests.Events, Per: time.Duration(c.Requests.Per)}
	}
	return login, requests
}

// clientIP is the client's address as Caddy determined it (the forwarded
// one from a trusted proxy), else the connection's.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
