package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/seed06f30684/caddy-kratos/redisstore"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("kratos", parseCaddyfile)
	// Before basic_auth, and so before reverse_proxy, file_server and
	// respond: the identity endpoints are answered before any auth
	// directive or the app sees the request.
	httpcaddyfile.RegisterDirectiveOrder("kratos", httpcaddyfile.Before, "basic_auth")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	k := new(Handler)
	if err := k.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return k, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	kratos [<matcher>] {
//		identity_schema            <file>
//		public_prefix              <path>
//		public_url                 <url>
//		store                      memory
//		store                      redis <url>...
//		store                      redis {
//			urls        <url>...
//			addrs       <host:port>...
//			master_name <name>
//			cluster
//			username    <user>
//			password    <password>
//			db          <number>
//			tls
//			key_prefix  <prefix>
//			wait_replicas <n> [<timeout>]
//		}
//		ui {
//			login        <url or path>
//			registration <url or path>
//			settings     <url or path>
//			profile      <url or path>
//			error        <url or path>
//		}
//		ui_stylesheet              <url or path>
//		default_return_url         <url or path>
//		allowed_return_urls        <url>...
//		privileged_session_max_age <duration>
//		flow_lifespan              <duration>
//		session_lifespan           <duration>
//		cookie_domain              <domain>
//		identity_headers
//		admin
//		require_session
//		revoke_sessions_on_password_change on|off
//		verify_address_changes     on|off
//		rate_limit                 off
//		rate_limit {
//			login_failures <events> <duration>
//			requests       <events> <duration>
//		}
//		courier {
//			smtp      <smtp:// or smtps:// URI>
//			from      "<name> <address>"
//			templates <directory>
//			mailbox
//			retries   <n>
//		}
//	}
//
// identity_schema is required; every other option is optional and may be
// given once (allowed_return_urls may be repeated: its URLs add up).
// Durations use Caddy's syntax (90s, 15m, 1h, 7d). Placeholders such as
// {env.REDIS_URL} are expanded when the config is loaded.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.Errf("kratos takes no arguments besides a matcher; put options in its block")
	}

	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] && opt != "allowed_return_urls" {
			return d.Errf("'%s' given twice", opt)
		}
		seen[opt] = true

		var err error
		switch opt {
		case "identity_schema":
			h.IdentitySchema, err = oneArg(d)
		case "public_prefix":
			h.PublicPrefix, err = oneArg(d)
		case "public_url":
			h.PublicURL, err = oneArg(d)
		case "store":
			h.Store, err = parseStore(d)
		case "ui":
			h.UI, err = parseUI(d)
		case "ui_stylesheet":
			h.UIStylesheet, err = oneArg(d)
		case "default_return_url":
			h.DefaultReturnURL, err = oneArg(d)
		case "allowed_return_urls":
			urls := d.RemainingArgs()
			if len(urls) == 0 {
				return d.ArgErr()
			}
			h.AllowedReturnURLs = append(h.AllowedReturnURLs, urls...)
		case "privileged_session_max_age":
			h.PrivilegedSessionMaxAge, err = durationArg(d)
		case "flow_lifespan":
			h.FlowLifespan, err = durationArg(d)
		case "session_lifespan":
			h.SessionLifespan, err = durationArg(d)
		case "cookie_domain":
			h.CookieDomain, err = oneArg(d)
		case "identity_headers":
			h.IdentityHeaders, err = true, noArgs(d)
		case "admin":
			h.Admin, err = true, noArgs(d)
		case "require_session":
			h.RequireSession, err = true, noArgs(d)
		case "revoke_sessions_on_password_change":
			var on bool
			on, err = onOffArg(d)
			h.RevokeSessionsOnPasswordChange = &on
		case "webhook":
			var hook WebhookConfig
			hook, err = parseWebhook(d)
			h.Webhooks = append(h.Webhooks, hook)
		case "rate_limit":
			h.RateLimit, err = parseRateLimit(d)
		case "courier":
			h.Courier, err = parseCourier(d)
		case "verification", "recovery", "verify_address_changes":
			var on bool
			on, err = onOffArg(d)
			switch opt {
			case "verification":
				h.Verification = &on
			case "recovery":
				h.Recovery = &on
			default:
				h.VerifyAddressChanges = &on
			}
		case "secrets":
			if h.Secrets = d.RemainingArgs(); len(h.Secrets) == 0 {
				return d.Errf("secrets: expected one or more secrets, the one for new codes first (e.g. secrets {env.KRATOS_SECRET})")
			}
		default:
			return d.Errf("unrecognized kratos option '%s'", opt)
		}
		if err != nil {
			return err
		}
	}

	if h.IdentitySchema == "" {
		return d.Err("kratos: identity_schema is required (the path of an identity schema file)")
	}
	return nil
}

// parseStore reads the arguments and block of the store option.
func parseStore(d *caddyfile.Dispenser) (*StoreConfig, error) {
	if !d.NextArg() {
		return nil, d.Errf("store: expected 'memory' or 'redis'")
	}
	switch d.Val() {
	case storeMemory:
		if err := noArgs(d); err != nil {
			return nil, err
		}
		return &StoreConfig{Type: storeMemory}, nil
	case storeRedis:
		r, err := parseRedis(d)
		if err != nil {
			return nil, err
		}
		return &StoreConfig{Type: storeRedis, Redis: r}, nil
	default:
		return nil, d.Errf("store: unknown type '%s'; expected 'memory' or 'redis'", d.Val())
	}
}

// parseRedis reads `redis [<url>...] [{ ... }]`.
func parseRedis(d *caddyfile.Dispenser) (*redisstore.Options, error) {
	r := &redisstore.Options{URLs: d.RemainingArgs()}
	inline := len(r.URLs) > 0

	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] {
			return nil, d.Errf("store redis: '%s' given twice", opt)
		}
		seen[opt] = true

		var err error
		switch opt {
		case "urls":
			if inline {
				return nil, d.Errf("store redis: give URLs on the store line or in 'urls', not both")
			}
			if r.URLs = d.RemainingArgs(); len(r.URLs) == 0 {
				return nil, d.ArgErr()
			}
		case "addrs":
			if r.Addrs = d.RemainingArgs(); len(r.Addrs) == 0 {
				return nil, d.ArgErr()
			}
		case "master_name":
			r.MasterName, err = oneArg(d)
		case "cluster":
			r.Cluster, err = true, noArgs(d)
		case "username":
			r.Username, err = oneArg(d)
		case "password":
			r.Password, err = oneArg(d)
		case "db":
			var s string
			if s, err = oneArg(d); err == nil {
				r.DB, err = strconv.Atoi(s)
				if err != nil || r.DB < 0 {
					return nil, d.Errf("store redis: db: expected a database number (0 or more), got '%s'", s)
				}
			}
		case "tls":
			r.TLS, err = true, noArgs(d)
		case "key_prefix":
			r.KeyPrefix, err = oneArg(d)
		case "wait_replicas":
			err = parseWaitReplicas(d, r)
		default:
			return nil, d.Errf("unrecognized store redis option '%s'", opt)
		}
		if err != nil {
			return nil, err
		}
	}

	if len(r.URLs) == 0 && len(r.Addrs) == 0 {
		return nil, d.Errf("store redis: expected at least one redis:// URL, or a block with urls or addrs")
	}
	return r, nil
}

// parseWaitReplicas reads `wait_replicas <n> [<timeout>]`.
func parseWaitReplicas(d *caddyfile.Dispenser, r *redisstore.Options) error {
	args := d.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return d.Errf("store redis: wait_replicas: expected a number of replicas and optionally a timeout")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return d.Errf("store redis: wait_replicas: expected a number of replicas (1 or more), got '%s'", args[0])
	}
	r.WaitReplicas = n
	if len(args) == 2 {
		dur, err := caddy.ParseDuration(args[1])
		if err != nil || dur <= 0 {
			return d.Errf("store redis: wait_replicas: expected a timeout such as 100ms, got '%s'", args[1])
		}
		r.WaitTimeout = dur
	}
	return nil
}

// parseUI reads the block of the ui option.
func parseUI(d *caddyfile.Dispenser) (*UIConfig, error) {
	if d.NextArg() {
		return nil, d.Errf("ui: expected a block { login … }, not arguments")
	}
	ui := new(UIConfig)
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] {
			return nil, d.Errf("ui: '%s' given twice", opt)
		}
		seen[opt] = true

		var dst *string
		switch opt {
		case "login":
			dst = &ui.Login
		case "registration":
			dst = &ui.Registration
		case "settings":
			dst = &ui.Settings
		case "profile":
			dst = &ui.Profile
		case "error":
			dst = &ui.Error
		case "recovery":
			dst = &ui.Recovery
		case "verification":
			dst = &ui.Verification
		case "languages":
			if ui.Languages = d.RemainingArgs(); len(ui.Languages) == 0 {
				return nil, d.Errf("ui languages: expected one or more language tags, the default first (e.g. languages en de)")
			}
			continue
		case "translations":
			dst = &ui.Translations
		case "templates":
			dst = &ui.Templates
		case "site_name":
			dst = &ui.SiteName
		case "logo":
			dst = &ui.Logo
		default:
			return nil, d.Errf("unrecognized ui option '%s'; expected login, registration, settings, profile, error, recovery, verification, languages, translations, templates, site_name or logo", opt)
		}
		v, err := oneArg(d)
		if err != nil {
			return nil, err
		}
		*dst = v
	}
	if len(seen) == 0 {
		return nil, d.Errf("ui: expected a block with at least one of login, registration, settings, profile, error, languages, translations, templates, site_name, logo")
	}
	return ui, nil
}

// oneArg reads exactly one argument.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	return v, nil
}

// parseRateLimit reads `rate_limit off` or a rate_limit block.
func parseRateLimit(d *caddyfile.Dispenser) (*RateLimitConfig, error) {
	c := &RateLimitConfig{}
	if d.NextArg() {
		if d.Val() != "off" || d.NextArg() {
			return nil, d.Errf("rate_limit: expected 'off' or a block")
		}
		c.Off = true
		return c, nil
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		args := d.RemainingArgs()
		if len(args) != 2 {
			return nil, d.Errf("rate_limit %s: expected <events> <duration>, e.g. 5 15m", sub)
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n <= 0 {
			return nil, d.Errf("rate_limit %s: expected a positive number of events, got '%s'", sub, args[0])
		}
		per, err := caddy.ParseDuration(args[1])
		if err != nil || per <= 0 {
			return nil, d.Errf("rate_limit %s: bad duration '%s' (expected e.g. 1m, 15m, 1h)", sub, args[1])
		}
		l := &LimitConfig{Events: n, Per: caddy.Duration(per)}
		switch sub {
		case "login_failures":
			c.LoginFailures = l
		case "requests":
			c.Requests = l
		default:
			return nil, d.Errf("rate_limit: unrecognized option '%s' (expected login_failures or requests)", sub)
		}
	}
	return c, nil
}

// noArgs makes sure a flag option has no arguments.
func noArgs(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// durationArg reads one positive duration in Caddy's syntax.
func durationArg(d *caddyfile.Dispenser) (caddy.Duration, error) {
	opt := d.Val()
	s, err := oneArg(d)
	if err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil {
		return 0, d.Errf("%s: bad duration '%s' (expected e.g. 30s, 15m, 1h, 7d): %v", opt, s, err)
	}
	if dur <= 0 {
		return 0, d.Errf("%s: expected a positive duration, got '%s'", opt, s)
	}
	return caddy.Duration(dur), nil
}

// onOffArg reads one argument that is "on" or "off".
func onOffArg(d *caddyfile.Dispenser) (bool, error) {
	opt := d.Val()
	s, err := oneArg(d)
	if err != nil {
		return false, err
	}
	switch s {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, d.Errf("%s: expected 'on' or 'off', got '%s'", opt, s)
}
