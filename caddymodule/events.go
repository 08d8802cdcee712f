package caddymodule

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/webhook"
)

// WebhookConfig is one web hook: the events (package events) it receives,
// posted as JSON to URL without holding up the request (see the README,
// "Events and web hooks").
type WebhookConfig struct {
	// URL receives the POSTs: http or https.
	URL string `json:"url"`
	// Events are the event names it wants (kratos_identity_created, …);
	// empty means every event.
	Events []string `json:"events,omitempty"`
	// Timeout bounds one attempt. Default: 5s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// Retries is how many failed attempts are tried again. Default: 3.
	Retries *int `json:"retries,omitempty"`
	// Secret signs the bodies (X-Kratos-Signature: sha256=<hex HMAC>).
	// Placeholders such as {env.HOOK_SECRET} are expanded.
	Secret string `json:"secret,omitempty"`
	// Blocking asks the hook before a registration, settings change or
	// login is stored, once, while the user waits: an answer other than
	// 2xx, or none within the timeout, refuses it, and the flow shows the
	// hook's message (Kratos' interrupting web hooks).
	Blocking bool `json:"blocking,omitempty"`
}

// allEvents are the names a hook may ask for.
var allEvents = []string{events.IdentityCreated, events.IdentityUpdated, events.IdentityDeleted, events.LoginSucceeded,
	events.LoginFailed, events.SessionRevoked, events.PasswordChanged, events.RecoveryUsed, events.AddressVerified}

// validate checks a hook's options; errors name the option.
func (c *WebhookConfig) validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook %q: expected an absolute http or https URL", c.URL)
	}
	for _, e := range c.Events {
		if !slices.Contains(allEvents, e) {
			return fmt.Errorf("webhook %s: unknown event %q; expected one of %v", c.URL, e, allEvents)
		}
	}
	if c.Timeout < 0 || (c.Retries != nil && *c.Retries < 0) {
		return fmt.Errorf("webhook %s: timeout and retries must not be negative", c.URL)
	}
	return nil
}

func (c *WebhookConfig) hook(repl *caddy.Replacer) webhook.Hook {
	h := webhook.Hook{URL: c.URL, Events: c.Events, Timeout: time.Duration(c.Timeout), Retries: 3, Secret: repl.ReplaceKnown(c.Secret, ""), Blocking: c.Blocking}
	if h.Timeout == 0 {
		h.Timeout = 5 * time.Second
	}
	if c.Retries != nil {
		h.Retries = *c.Retries
	}
	return h
}

// caddyEvents emits events into Caddy's event system, where the site's
// event handlers (the events app's subscriptions) can act on them.
type caddyEvents struct {
	app *caddyevents.App
	ctx caddy.Context
}

func (c caddyEvents) Emit(_ context.Context, e events.Event) {
	c.app.Emit(c.ctx, e.Name, e.Data())
}

// eventSink is where the handler's events go: Caddy's event system, and
// the web hooks when there are any (their sender is started here and
// stopped at Cleanup); and the gate of the blocking ones.
func (h *Handler) eventSink(ctx caddy.Context) (events.Sink, events.Gate, error) {
	var sinks events.Sinks
	// Caddy's apps are there for a handler its http server provisions;
	// one provisioned alone (a unit test) has none to emit to.
	if srv, _ := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); srv != nil {
		app, err := ctx.App("events")
		if err != nil {
			return nil, nil, fmt.Errorf("events app: %w", err)
		}
		sinks = append(sinks, caddyEvents{app: app.(*caddyevents.App), ctx: ctx})
	}
	if len(h.Webhooks) > 0 {
		repl := caddy.NewReplacer()
		hooks := make([]webhook.Hook, len(h.Webhooks))
		for i := range h.Webhooks {
			hooks[i] = h.Webhooks[i].hook(repl)
		}
		h.webhooks = webhook.New(hooks, h.logger.Named("webhook"))
		sinks = append(sinks, h.webhooks)
		return sinks, h.webhooks, nil
	}
	return sinks, nil, nil
}

// parseWebhook reads `webhook <url> { events …; timeout …; retries …; secret … }`.
func parseWebhook(d *caddyfile.Dispenser) (WebhookConfig, error) {
	var c WebhookConfig
	if !d.NextArg() {
		return c, d.Errf("webhook: expected a URL")
	}
	c.URL = d.Val()
	if d.NextArg() {
		return c, d.Errf("webhook: expected one URL, then a block")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "events":
			if c.Events = d.RemainingArgs(); len(c.Events) == 0 {
				return c, d.Errf("webhook events: expected one or more event names, e.g. kratos_identity_created")
			}
		case "timeout":
			dur, err := durationArg(d)
			if err != nil {
				return c, err
			}
			c.Timeout = dur
		case "retries":
			s, err := oneArg(d)
			if err != nil {
				return c, err
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return c, d.Errf("webhook retries: expected a number ≥ 0, got '%s'", s)
			}
			c.Retries = &n
		case "blocking":
			if d.NextArg() {
				return c, d.ArgErr()
			}
			c.Blocking = true
		case "secret":
			s, err := oneArg(d)
			if err != nil {
				return c, err
			}
			c.Secret = s
		default:
			return c, d.Errf("unrecognized webhook option '%s'; expected events, timeout, retries, secret or blocking", opt)
		}
	}
	return c, nil
}
