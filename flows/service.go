package flows

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/codes"
	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/storelog"
	"github.com/seed06f30684/caddy-kratos/locale"
	"github.com/seed06f30684/caddy-kratos/pages"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// Config is everything a Service needs. Zero durations take Kratos' defaults.
type Config struct {
	Schema *schema.Schema
	Store  identity.Store
	Logger *zap.Logger

	// PublicPrefix is the path the public API is served under, with a
	// leading and no trailing slash ("/.ory/kratos/public").
	PublicPrefix string
	// PublicURL is the site's base URL (scheme and host). Nil: the request's
	// own scheme and host.
	PublicURL *url.URL
	// FromTrustedProxy reports whether a request came through a trusted
	// proxy (Caddy's trusted_proxies), whose X-Forwarded-Proto and
	// X-Forwarded-Host then give the request's own scheme and host when
	// PublicURL is nil. Nil: no proxy is trusted.
	FromTrustedProxy func(*http.Request) bool

	UI                siteurl.UIURLs
	DefaultReturnURL  string
	AllowedReturnURLs []string

	PrivilegedSessionMaxAge time.Duration
	FlowLifespan            time.Duration
	SessionLifespan         time.Duration
	CookieDomain            string
	// RevokeOtherSessionsOnPasswordChange ends the identity's other sessions
	// when its password changes.
	RevokeOtherSessionsOnPasswordChange bool

	// Metrics counts flows, logins and sessions; nil counts nothing.
	Metrics Metrics
	// UIStylesheet replaces the built-in UI's CSS: a URL or site path of a
	// stylesheet. Empty: the built-in style.
	UIStylesheet string
	// Events receives what happens to identities and sessions (package
	// events); nil drops it.
	Events events.Sink
	// Gate may refuse a registration, a settings change or a login
	// before it is stored (blocking web hooks); nil refuses nothing.
	Gate events.Gate
	// UITemplates replace the built-in pages' templates; nil keeps them.
	UITemplates *pages.Templates
	// UISiteName and UILogo (a URL or site path) name the site on every
	// built-in page.
	UISiteName, UILogo string
	// Locale has the languages of the built-in pages; nil means the
	// built-in ones (English, German), English the default.
	Locale *locale.Catalog

	// PasswordCost is the bcrypt work factor of new password hashes; zero
	// means BcryptCost.
	PasswordCost int

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Limiter counts failed logins and login and registration requests, shared by
	// every instance on the same store; nil limits nothing.
	Limiter identity.Limiter
	// LoginFailures bounds failed logins per identifier (zero Events: no
	// bound); past it a login answers 429 until the window passes, whether
	// or not the account exists.
	LoginFailures identity.Limit
	// Requests bounds login, registration, recovery and verification
	// requests (/self-service/login..., …/registration..., …/recovery...,
	// …/verification...) per client (zero Events: no bound).
	Requests identity.Limit
	// ClientIP is the client's address as the server sees it (behind a
	// trusted proxy, the forwarded one). Nil: the connection's address.
	ClientIP func(*http.Request) string

	// Verification and Recovery turn on the verification and recovery
	// flows (the code method). They need a courier to send the codes.
	Verification bool
	Recovery     bool
	// VerifyAddressChanges holds a settings change of a verifiable address
	// until the new address is verified with a code (addresschange.go);
	// only with Verification. Off: the change applies at once (Kratos
	// v1.3.1).
	VerifyAddressChanges bool
	// CodeSecrets key the hashes of one-time codes: the first hashes new
	// codes, every one is tried on use. None: a random key kept in the
	// store.
	CodeSecrets [][]byte
}

// Defaults, as Kratos has them.
const (
	DefaultPublicPrefix            = "/.ory/kratos/public"
	DefaultPrivilegedSessionMaxAge = 15 * time.Minute
	DefaultFlowLifespan            = time.Hour
	DefaultSessionLifespan         = 24 * time.Hour
)

// Service answers the Kratos public API: the self-service flows, sessions
// and the built-in pages. The admin API (package admin) works on its records.
type Service struct {
	cfg      Config
	site     *siteurl.Site
	ui       *pages.Handler // the built-in pages
	cookies  *cookieJar
	throttle throttle
	mux      *http.ServeMux // the public API (publicRoutes)
	storeLog *zap.Logger    // cfg.Logger, once per interval (storelog.Sampled)
	codes    *codes.Codes   // one-time codes of verification and recovery
	pending  sync.WaitGroup // work left running after an answer (background)
}

// New checks cfg, fills in its defaults and returns the Service.
func New(cfg Config) (*Service, error) {
	if cfg.Schema == nil {
		return nil, errors.New("flows: no identity schema")
	}
	if cfg.Store == nil {
		return nil, errors.New("flows: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.PublicPrefix == "" {
		cfg.PublicPrefix = DefaultPublicPrefix
	}
	if cfg.PrivilegedSessionMaxAge == 0 {
		cfg.PrivilegedSessionMaxAge = DefaultPrivilegedSessionMaxAge
	}
	if cfg.FlowLifespan == 0 {
		cfg.FlowLifespan = DefaultFlowLifespan
	}
	if cfg.SessionLifespan == 0 {
		cfg.SessionLifespan = DefaultSessionLifespan
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.Events == nil {
		cfg.Events = events.Discard{}
	}
	if cfg.Gate == nil {
		cfg.Gate = events.Open{}
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = passwords.BcryptCost
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = clientIP
	}
	if cfg.Locale == nil {
		l, err := locale.Load(locale.Options{})
		if err != nil {
			return nil, err
		}
		cfg.Locale = l
	}
	site := &siteurl.Site{
		PublicPrefix: cfg.PublicPrefix, Origin: cfg.PublicURL, FromTrustedProxy: cfg.FromTrustedProxy,
		UI: cfg.UI, DefaultReturnURL: cfg.DefaultReturnURL, AllowedReturnURLs: cfg.AllowedReturnURLs,
	}
	cookies := &cookieJar{site: site, domain: cfg.CookieDomain, now: cfg.Now}
	s := &Service{cfg: cfg, site: site, cookies: cookies, throttle: throttle{cfg.Limiter}, storeLog: storelog.Sampled(cfg.Logger),
		codes: codes.New(cfg.Store, cfg.CodeSecrets)}
	s.ui = &pages.Handler{
		Backend: pagesBackend{s}, Flows: cfg.Store, Site: site, Now: cfg.Now, StoreLog: s.storeLog, Recovery: cfg.Recovery,
		Renderer: &pages.Renderer{Site: site, Stylesheet: cfg.UIStylesheet, Logger: cfg.Logger, Locale: cfg.Locale,
			Templates: cfg.UITemplates, SiteName: cfg.UISiteName, Logo: cfg.UILogo},
	}
	s.mux = s.publicRoutes()
	return s, nil
}

// Config returns the service's configuration, its defaults filled in.
func (s *Service) Config() Config { return s.cfg }
