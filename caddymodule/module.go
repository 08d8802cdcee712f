// Package caddymodule is the Caddy glue of caddy-kratos: the
// http.handlers.kratos module and its Caddyfile directive. It is the only
// package that knows Caddy.
package caddymodule

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/admin"
	"github.com/seed06f30684/caddy-kratos/courier"
	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/storelog"
	"github.com/seed06f30684/caddy-kratos/locale"
	"github.com/seed06f30684/caddy-kratos/pages"
	"github.com/seed06f30684/caddy-kratos/redisstore"
	"github.com/seed06f30684/caddy-kratos/schema"
	"github.com/seed06f30684/caddy-kratos/webhook"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler serves Ory-Kratos-compatible self-service identity flows (login,
// registration, settings, the legacy profile API, sessions) on the site's
// own domain. Requests under the public prefix are answered by the
// handler; every other request goes on to the next handler, with the
// placeholders of its session (if it has a valid one) set for later
// handlers: {http.auth.user.id}, {http.kratos.identity.id},
// {http.kratos.session.id}, {http.kratos.session.privileged},
// {http.kratos.identity.traits} and {http.kratos.identity.traits.<path>}.
//
// With admin set, the handler instead answers every request it sees with
// the Kratos admin API; put it on a listener that only trusted callers can
// reach.
type Handler struct {
	// IdentitySchema is the path of the Kratos identity schema (a JSON
	// Schema for the identity traits, with the "ory.sh/kratos" extension).
	// Its schema id is "default". Required.
	IdentitySchema string `json:"identity_schema,omitempty"`

	// PublicPrefix is the path the public API is served under. It starts
	// with "/" and has no trailing "/". Default: "/.ory/kratos/public".
	PublicPrefix string `json:"public_prefix,omitempty"`

	// PublicURL is the site's base URL (scheme and host, e.g.
	// "https://app.example.com"), used for every absolute URL the handler
	// emits and for the Secure flag of cookies. Default: the request's own
	// scheme and host.
	PublicURL string `json:"public_url,omitempty"`

	// Store says where identities, sessions and flows are kept. Default:
	// the in-memory store.
	Store *StoreConfig `json:"store,omitempty"`

	// UI holds the URLs of the pages that render each flow. An unset one is
	// served by the built-in UI.
	UI *UIConfig `json:"ui,omitempty"`

	// DefaultReturnURL is where the browser goes after a flow that has no
	// return_to: an absolute http(s) URL or a path on this site.
	DefaultReturnURL string `json:"default_return_url,omitempty"`

	// AllowedReturnURLs are the absolute URLs a return_to may point at,
	// besides paths on the site itself, which are always allowed.
	AllowedReturnURLs []string `json:"allowed_return_urls,omitempty"`

	// PrivilegedSessionMaxAge is how recent a login must be to change a
	// login identifier, an address or the password. Default: 15m.
	PrivilegedSessionMaxAge caddy.Duration `json:"privileged_session_max_age,omitempty"`

	// FlowLifespan is how long settings, profile, login and registration
	// flows stay valid. Default: 1h.
	FlowLifespan caddy.Duration `json:"flow_lifespan,omitempty"`

	// SessionLifespan is how long a session lasts. Default: 24h.
	SessionLifespan caddy.Duration `json:"session_lifespan,omitempty"`

	// CookieDomain is the Domain attribute of the cookies the handler sets,
	// e.g. "example.com" to share the session with sub-domains. Default:
	// host-only cookies.
	CookieDomain string `json:"cookie_domain,omitempty"`

	// IdentityHeaders adds the session's identity to requests passed to
	// the next handler: X-Kratos-Authenticated-Identity-Id,
	// X-Kratos-Session-Id and X-Kratos-Identity-Traits (the traits JSON,
	// base64url without padding). Whatever the client sent under those
	// names is removed first, with or without a session.
	IdentityHeaders bool `json:"identity_headers,omitempty"`

	// Admin makes this handler serve the admin API, for every request it
	// sees, instead of the public API.
	Admin bool `json:"admin,omitempty"`

	// RevokeSessionsOnPasswordChange ends an identity's other sessions when
	// its password changes. Default: true.
	RevokeSessionsOnPasswordChange *bool `json:"revoke_sessions_on_password_change,omitempty"`

	// RequireSession lets only requests with a valid session through to the
	// next handler. Without one, a browser is sent to the login flow with
	// return_to back to the page, and a JSON or API caller gets 401
	// session_inactive; while the store is unreachable, 503. Use it with a
	// matcher (kratos /account/* { ... }); requests under the public prefix
	// are always served.
	RequireSession bool `json:"require_session,omitempty"`

	// UIStylesheet is the URL or site path of a stylesheet that replaces
	// the built-in UI's style.
	UIStylesheet string `json:"ui_stylesheet,omitempty"`

	// RateLimit bounds failed logins per identifier and self-service
	// requests per client, shared through the store. Default: on, 5 failed
	// logins per 15m and 300 requests per 1m.
	RateLimit *RateLimitConfig `json:"rate_limit,omitempty"`

	// Courier sends the mail that flows queue (see CourierConfig in
	// courier.go). Default: off.
	Courier *CourierConfig `json:"courier,omitempty"`

	// Webhooks receive events as JSON posts (see WebhookConfig in
	// events.go). Events go to Caddy's event system whether or not there
	// are any.
	Webhooks []WebhookConfig `json:"webhooks,omitempty"`
	webhooks *webhook.Sender

	// Verification turns the verification flow on (addresses get a code
	// to verify them, new accounts too). Default: on when a courier is
	// configured; on without one is an error.
	Verification *bool `json:"verification,omitempty"`
	// Recovery turns the recovery flow on ("Forgot password?": a code by
	// mail signs the user in to set a new password). Default: on when a
	// courier is configured; on without one is an error.
	Recovery *bool `json:"recovery,omitempty"`
	// VerifyAddressChanges holds a settings change of an email address
	// (login identifier, verification or recovery address) until a code
	// sent to the new address is entered; the old one stays in force and
	// is told. Default: on wherever verification is on; off applies the
	// change at once, as Kratos v1.3.1 does.
	VerifyAddressChanges *bool `json:"verify_address_changes,omitempty"`
	// Secrets key the hashes of one-time codes: the first hashes new
	// codes, all are tried on use (to rotate, put the new one first).
	// Placeholders such as {env.KRATOS_SECRET} are expanded. Without any,
	// a random key kept in the store is used; a secret kept outside the
	// store means a copy of the store alone does not give away the codes.
	// At least 16 characters each.
	Secrets []string `json:"secrets,omitempty"`

	logger   *zap.Logger
	storeLog *zap.Logger // logger, once per interval (identity.StoreFailureLogger)
	svc      *flows.Service
	admin    *admin.API // with Admin set
	// warnPublicAdmin logs once if the admin API answers beyond loopback,
	// when provisioning could not tell (see warnPublicListen).
	warnPublicAdmin *sync.Once
	store           identity.Store
	poolKey         string // the store pool entry this handler holds; "" when none
	courierKey      string // the courier pool entry this handler holds; "" when none
}

// UIConfig holds the URLs of the pages that render each flow: absolute
// http(s) URLs or paths on this site. The flow id is appended as a query
// parameter.
type UIConfig struct {
	// Login is the login page.
	Login string `json:"login,omitempty"`
	// Registration is the registration page.
	Registration string `json:"registration,omitempty"`
	// Settings is the settings page.
	Settings string `json:"settings,omitempty"`
	// Profile is the page of the legacy profile API (Kratos'
	// urls.profile_ui).
	Profile string `json:"profile,omitempty"`
	// Error is the page that shows a flow error.
	Error string `json:"error,omitempty"`
	// Recovery is the recovery page ("Forgot password?").
	Recovery string `json:"recovery,omitempty"`
	// Verification is the page that verifies an email address.
	Verification string `json:"verification,omitempty"`

	// Languages are the languages the built-in pages speak, the default
	// first; a request's Accept-Language picks one. Default: en, de.
	Languages []string `json:"languages,omitempty"`
	// Translations is a directory of translation files,
	// <language>.json, that override the built-in texts or add a
	// language (see the README, "Languages").
	Translations string `json:"translations,omitempty"`
	// Templates is a directory of *.html files that replace the built-in
	// pages' templates, whole (page.html) or in part (a {{define}} of
	// "form", "field", "messages", "devices").
	Templates string `json:"templates,omitempty"`
	// SiteName and Logo (a URL or site path of an image) name the site on
	// every built-in page.
	SiteName string `json:"site_name,omitempty"`
	Logo     string `json:"logo,omitempty"`
}

// locale loads the pages' languages and the site's translations; the
// errors name the file and key.
func (c *UIConfig) locale() (*locale.Catalog, error) {
	if c == nil {
		return locale.Load(locale.Options{})
	}
	o := locale.Options{Dir: c.Translations}
	if len(c.Languages) > 0 {
		o.Default, o.Enabled = c.Languages[0], c.Languages
	}
	return locale.Load(o)
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.kratos",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets defaults, compiles the identity schema, takes the store
// from the process-wide pool and builds the service. It never contacts
// Redis, so validating or reloading a config works while Redis is down.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.storeLog = storelog.Sampled(h.logger)
	h.expandPlaceholders(caddy.NewReplacer())

	if h.PublicPrefix == "" {
		h.PublicPrefix = flows.DefaultPublicPrefix
	}
	if h.PrivilegedSessionMaxAge == 0 {
		h.PrivilegedSessionMaxAge = caddy.Duration(flows.DefaultPrivilegedSessionMaxAge)
	}
	if h.FlowLifespan == 0 {
		h.FlowLifespan = caddy.Duration(flows.DefaultFlowLifespan)
	}
	if h.SessionLifespan == 0 {
		h.SessionLifespan = caddy.Duration(flows.DefaultSessionLifespan)
	}
	if h.RevokeSessionsOnPasswordChange == nil {
		revoke := true
		h.RevokeSessionsOnPasswordChange = &revoke
	}
	withCourier := h.Courier != nil
	for _, on := range []**bool{&h.Verification, &h.Recovery} {
		if *on == nil {
			*on = &withCourier
		}
	}
	if h.VerifyAddressChanges == nil {
		on := *h.Verification
		h.VerifyAddressChanges = &on
	}

	if h.IdentitySchema == "" {
		return fmt.Errorf("identity_schema: required; expected the path of an identity schema file")
	}
	sch, err := schema.CompileFile("default", h.IdentitySchema)
	if err != nil {
		return fmt.Errorf("identity_schema: %w", err)
	}
	if problem := addressLookupProblem(sch); problem != "" {
		h.logger.Warn("identity_schema: "+problem, zap.String("identity_schema", h.IdentitySchema))
	}
	if problem := loginIdentifierProblem(sch); problem != "" {
		h.logger.Warn("identity_schema: "+problem+"; registrations without a login identifier are refused",
			zap.String("identity_schema", h.IdentitySchema))
	}

	var publicURL *url.URL
	if h.PublicURL != "" {
		if publicURL, err = url.Parse(h.PublicURL); err != nil {
			return fmt.Errorf("public_url: %w", err)
		}
	}

	if err := h.Store.validate(); err != nil {
		return err
	}
	key := h.Store.poolKey()
	store, opened, err := loadStore(key, h.Store)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	h.store, h.poolKey = store, key
	if h.Store.typeOrDefault() == storeRedis {
		redisstore.SetLogger(h.logger)
		if opened {
			go pingOnce(ctx, store, h.Store.Redis.Endpoints(), h.logger)
		}
	}

	var ui siteurl.UIURLs
	if h.UI != nil {
		ui = siteurl.UIURLs{
			Login:        h.UI.Login,
			Registration: h.UI.Registration,
			Settings:     h.UI.Settings,
			Profile:      h.UI.Profile,
			Error:        h.UI.Error,
			Recovery:     h.UI.Recovery,
			Verification: h.UI.Verification,
		}
	}
	lang, err := h.UI.locale()
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	var pageTemplates *pages.Templates
	var siteName, logo string
	if h.UI != nil {
		if h.UI.Templates != "" {
			if pageTemplates, err = pages.LoadTemplates(h.UI.Templates); err != nil {
				return fmt.Errorf("ui templates: %w", err)
			}
		}
		siteName, logo = h.UI.SiteName, h.UI.Logo
	}
	metrics, err := newMetrics(ctx.GetMetricsRegistry())
	if err != nil {
		// Counting goes on; only the scrape misses these counters.
		h.logger.Warn("kratos metrics not registered", zap.Error(err))
	}

	sink, gate, err := h.eventSink(ctx)
	if err != nil {
		return err
	}
	loginLimit, requestLimit := h.RateLimit.limits()
	limiter, _ := store.(identity.Limiter)
	h.svc, err = flows.New(flows.Config{
		Schema:                              sch,
		Store:                               store,
		Logger:                              h.logger,
		PublicPrefix:                        h.PublicPrefix,
		PublicURL:                           publicURL,
		FromTrustedProxy:                    fromTrustedProxy,
		UI:                                  ui,
		DefaultReturnURL:                    h.DefaultReturnURL,
		AllowedReturnURLs:                   h.AllowedReturnURLs,
		PrivilegedSessionMaxAge:             time.Duration(h.PrivilegedSessionMaxAge),
		FlowLifespan:                        time.Duration(h.FlowLifespan),
		SessionLifespan:                     time.Duration(h.SessionLifespan),
		CookieDomain:                        h.CookieDomain,
		RevokeOtherSessionsOnPasswordChange: *h.RevokeSessionsOnPasswordChange,
		Metrics:                             metrics,
		UIStylesheet:                        h.UIStylesheet,
		Locale:                              lang,
		UITemplates:                         pageTemplates,
		UISiteName:                          siteName,
		UILogo:                              logo,
		Events:                              sink,
		Gate:                                gate,
		Now:                                 clockNow,
		Limiter:                             limiter,
		LoginFailures:                       loginLimit,
		Requests:                            requestLimit,
		ClientIP:                            clientIP,
		Verification:                        *h.Verification,
		Recovery:                            *h.Recovery,
		VerifyAddressChanges:                *h.VerifyAddressChanges,
		CodeSecrets:                         secretBytes(h.Secrets),
	})
	if err != nil {
		return err
	}
	if err := h.startCourier(ctx, store, lang); err != nil {
		return err
	}
	if h.Admin {
		storeKey := h.poolKey
		h.admin = admin.New(h.svc, admin.WithMailbox(func() *courier.Mailbox { return mailboxFor(storeKey) }))
		if !warnPublicListen(ctx, h.logger) {
			h.warnPublicAdmin = new(sync.Once)
		}
	}

	if c := h.logger.Check(zap.DebugLevel, "kratos handler provisioned"); c != nil {
		c.Write(
			zap.String("identity_schema", h.IdentitySchema),
			zap.String("store", h.Store.typeOrDefault()),
			zap.Bool("admin", h.Admin),
			zap.String("public_prefix", h.PublicPrefix),
		)
	}
	return nil
}

// expandPlaceholders replaces global placeholders ({env.*}, {file.*}) in
// every string option.
func (h *Handler) expandPlaceholders(repl *caddy.Replacer) {
	for _, s := range []*string{&h.IdentitySchema, &h.PublicPrefix, &h.PublicURL, &h.DefaultReturnURL, &h.CookieDomain, &h.UIStylesheet} {
		*s = repl.ReplaceKnown(*s, "")
	}
	for i, u := range h.AllowedReturnURLs {
		h.AllowedReturnURLs[i] = repl.ReplaceKnown(u, "")
	}
	for i, sec := range h.Secrets {
		h.Secrets[i] = repl.ReplaceKnown(sec, "")
	}
	if h.UI != nil {
		for _, s := range []*string{&h.UI.Login, &h.UI.Registration, &h.UI.Settings, &h.UI.Profile, &h.UI.Error, &h.UI.Recovery, &h.UI.Verification, &h.UI.Translations, &h.UI.Templates, &h.UI.SiteName, &h.UI.Logo} {
			*s = repl.ReplaceKnown(*s, "")
		}
	}
	if h.Store != nil && h.Store.Redis != nil {
		expandRedis(h.Store.Redis, repl)
	}
}

// Validate checks the provisioned config. Each error names the option and
// says what is expected.
func (h *Handler) Validate() error {
	if !strings.HasPrefix(h.PublicPrefix, "/") {
		return fmt.Errorf("public_prefix: %q must start with \"/\"", h.PublicPrefix)
	}
	if strings.HasSuffix(h.PublicPrefix, "/") {
		return fmt.Errorf("public_prefix: %q must not end with \"/\"", h.PublicPrefix)
	}
	if h.PublicURL != "" {
		if err := checkPublicURL(h.PublicURL); err != nil {
			return fmt.Errorf("public_url: %w", err)
		}
	}
	for _, o := range []struct {
		name string
		val  caddy.Duration
	}{
		{"privileged_session_max_age", h.PrivilegedSessionMaxAge},
		{"flow_lifespan", h.FlowLifespan},
		{"session_lifespan", h.SessionLifespan},
	} {
		if o.val <= 0 {
			return fmt.Errorf("%s: must be a positive duration, got %s", o.name, time.Duration(o.val))
		}
	}
	if h.UI != nil {
		for _, o := range []struct{ name, val string }{
			{"ui login", h.UI.Login},
			{"ui registration", h.UI.Registration},
			{"ui settings", h.UI.Settings},
			{"ui profile", h.UI.Profile},
			{"ui error", h.UI.Error},
			{"ui logo", h.UI.Logo},
			{"ui recovery", h.UI.Recovery},
			{"ui verification", h.UI.Verification},
		} {
			if err := checkURLOrPath(o.val); err != nil {
				return fmt.Errorf("%s: %w", o.name, err)
			}
		}
	}
	if err := checkURLOrPath(h.UIStylesheet); err != nil {
		return fmt.Errorf("ui_stylesheet: %w", err)
	}
	for i := range h.Webhooks {
		if err := h.Webhooks[i].validate(); err != nil {
			return err
		}
	}
	if err := checkURLOrPath(h.DefaultReturnURL); err != nil {
		return fmt.Errorf("default_return_url: %w", err)
	}
	for _, u := range h.AllowedReturnURLs {
		if err := checkAbsoluteURL(u); err != nil {
			return fmt.Errorf("allowed_return_urls: %w", err)
		}
	}
	if strings.ContainsAny(h.CookieDomain, "/: \t") {
		return fmt.Errorf("cookie_domain: %q: expected a domain name such as example.com", h.CookieDomain)
	}
	if err := h.Courier.validate(); err != nil {
		return err
	}
	if err := h.validateCodes(); err != nil {
		return err
	}
	return h.Store.validate()
}

// Cleanup releases the handler's hold on its store; the last handler to
// let go closes it. It is safe after a failed or partial Provision.
func (h *Handler) Cleanup() error {
	if h.webhooks != nil {
		h.webhooks.Close()
		h.webhooks = nil
	}
	if err := h.stopCourier(); err != nil {
		return fmt.Errorf("stopping the courier: %w", err)
	}
	if h.poolKey == "" {
		return nil
	}
	key := h.poolKey
	h.store, h.poolKey = nil, ""
	_, err := stores.Delete(key)
	if err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}

// ServeHTTP answers the admin API (admin mode) or requests under the
// public prefix, and passes every other request on to next with the
// identity of its session (see passThrough).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.Admin {
		if h.warnPublicAdmin != nil {
			h.warnPublicAdmin.Do(func() { warnIfPublic(h.logger, r) })
		}
		h.admin.ServeHTTP(w, r)
		return nil
	}
	rel, ok := publicPath(r.URL.Path, h.PublicPrefix)
	if !ok {
		return h.passThrough(w, r, next)
	}
	h.svc.ServePublic(w, r, rel)
	return nil
}

// publicPath reports whether path is prefix itself or lies under it
// ("/.ory/kratos/publicX" does not), and returns the rest of the path:
// "/sessions/whoami", or "/" for the prefix itself.
func publicPath(path, prefix string) (rel string, ok bool) {
	rel, ok = strings.CutPrefix(path, prefix)
	switch {
	case !ok:
		return "", false
	case rel == "":
		return "/", true
	case rel[0] != '/':
		return "", false
	}
	return rel, true
}

// loginIdentifierProblem says what is wrong with a schema's login
// identifiers, or "": none marked (`"ory.sh/kratos": {"credentials":
// {"password": {"identifier": true}}}`), or none required.
func loginIdentifierProblem(sch *schema.Schema) string {
	marked, required := false, false
	for _, f := range sch.Fields() {
		if f.Identifier {
			marked = true
			required = required || f.Required
		}
	}
	switch {
	case !marked:
		return `no trait is a login identifier (mark one with "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}})`
	case !required:
		return "no login identifier trait is required"
	}
	return ""
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)

// fromTrustedProxy reports whether Caddy found the request's peer among the
// server's trusted_proxies, so that its X-Forwarded-* headers count.
func fromTrustedProxy(r *http.Request) bool {
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	return trusted
}
