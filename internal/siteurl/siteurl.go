// Package siteurl builds the Absolute URLs the handler emits (form actions,
// redirects, UI pages) from the site's public origin, and checks the
// return_to URLs that callers send.
package siteurl

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
)

// Site is the public side of one site: where the public API lives, where
// each flow's UI is, and where browsers may be sent back to.
type Site struct {
	// PublicPrefix is the path the public API is served under, with a
	// leading and no trailing slash ("/.ory/kratos/public").
	PublicPrefix string
	// Origin is the site's configured public URL (scheme and host). Nil:
	// the request's own scheme and host.
	Origin *url.URL
	// FromTrustedProxy reports whether a request came through a trusted
	// proxy, whose X-Forwarded-Proto and X-Forwarded-Host then give the
	// request's own scheme and host when Origin is nil. Nil: none is.
	FromTrustedProxy func(*http.Request) bool

	UI                UIURLs
	DefaultReturnURL  string
	AllowedReturnURLs []string
}

// UIURLs are where the browser is sent to render each flow. An empty one is
// served by the built-in UI.
type UIURLs struct {
	Login        string
	Registration string
	Settings     string
	Profile      string
	Error        string
	Recovery     string
	Verification string
}

// Base returns the site's public scheme and host: the configured public URL,
// else the request's own.
func (s *Site) Base(r *http.Request) *url.URL {
	if s.Origin != nil {
		return &url.URL{Scheme: s.Origin.Scheme, Host: s.Origin.Host}
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.FromTrustedProxy != nil && s.FromTrustedProxy(r) {
		// A TLS-terminating proxy: without this, cookies would lose Secure
		// and every URL we emit would be http://.
		switch p := strings.ToLower(firstForwarded(r, "X-Forwarded-Proto")); p {
		case "http", "https":
			scheme = p
		}
		if h := firstForwarded(r, "X-Forwarded-Host"); h != "" && validHost(h) {
			host = h
		}
	}
	return &url.URL{Scheme: scheme, Host: host}
}

// firstForwarded is the first value of a comma-separated X-Forwarded-*
// header: the one the proxy nearest the client set.
func firstForwarded(r *http.Request, name string) string {
	v, _, _ := strings.Cut(r.Header.Get(name), ",")
	return strings.TrimSpace(v)
}

// validHost reports whether h is a bare host[:port] that cannot change the
// meaning of a URL built on it.
func validHost(h string) bool {
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == ""
}

// PublicURL is the Absolute URL of a public API path ("/self-service/...").
func (s *Site) PublicURL(r *http.Request, path string, query url.Values) string {
	u := s.Base(r)
	u.Path = s.PublicPrefix + path
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// PublicBase is the public API Base URL with a trailing slash, as
// Kratos names it (the CSRF cookie name is derived from it).
func (s *Site) PublicBase(r *http.Request) string {
	return s.PublicURL(r, "/", nil)
}

// IsSettingsEndpoint reports whether u is this site's public settings
// endpoint (GET /self-service/settings?flow=), where a refresh login for a
// paused settings change returns.
func (s *Site) IsSettingsEndpoint(r *http.Request, u string) bool {
	want := s.PublicURL(r, "/self-service/settings", nil)
	got, err := url.Parse(u)
	return err == nil && got.Query().Get("flow") != "" && strings.SplitN(u, "?", 2)[0] == want
}

// Absolute turns a configured URL or site path into an Absolute URL. Any
// value starting with "/" is resolved against the site's Base (so
// "//host/x" becomes "<scheme>://host/x"), never returned as is: a Location
// starting with "//" or "/\" is a redirect to another host.
func (s *Site) Absolute(r *http.Request, ref string) string {
	if !strings.HasPrefix(ref, "/") {
		return ref
	}
	u := s.Base(r)
	parsed, err := url.Parse(ref)
	if err != nil {
		return u.String() + "/" + strings.TrimLeft(ref, "/\\")
	}
	return u.ResolveReference(parsed).String()
}

// WithQuery adds query parameters to an Absolute URL.
func WithQuery(raw string, kv ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Built-in UI paths, under the public prefix, used for every UI URL that is
// not configured.
const (
	LoginPath        = "/ui/login"
	RegistrationPath = "/ui/registration"
	SettingsPath     = "/ui/settings"
	ProfilePath      = "/ui/profile"
	ErrorPath        = "/ui/error"
	RecoveryPath     = "/ui/recovery"
	VerificationPath = "/ui/verification"
)

func (s *Site) uiURL(r *http.Request, configured, builtin string) string {
	if configured != "" {
		return s.Absolute(r, configured)
	}
	return s.PublicURL(r, builtin, nil)
}

func (s *Site) LoginUI(r *http.Request) string {
	return s.uiURL(r, s.UI.Login, LoginPath)
}

func (s *Site) RegistrationUI(r *http.Request) string {
	return s.uiURL(r, s.UI.Registration, RegistrationPath)
}

func (s *Site) SettingsUI(r *http.Request) string {
	return s.uiURL(r, s.UI.Settings, SettingsPath)
}

func (s *Site) ProfileUI(r *http.Request) string {
	return s.uiURL(r, s.UI.Profile, ProfilePath)
}

func (s *Site) ErrorUI(r *http.Request) string {
	return s.uiURL(r, s.UI.Error, ErrorPath)
}

func (s *Site) RecoveryUI(r *http.Request) string {
	return s.uiURL(r, s.UI.Recovery, RecoveryPath)
}

func (s *Site) VerificationUI(r *http.Request) string {
	return s.uiURL(r, s.UI.Verification, VerificationPath)
}

// DefaultReturn is where browsers go after a flow without return_to.
func (s *Site) DefaultReturn(r *http.Request) string {
	if s.DefaultReturnURL != "" {
		return s.Absolute(r, s.DefaultReturnURL)
	}
	return s.Absolute(r, "/")
}

// CheckReturnTo validates a return_to value. It returns the Absolute URL to
// send the browser to, or "" for an empty value.
//
//   - A path on the site ("/account?x=1") must start with exactly one "/".
//     It is put on the site's origin and its path cleaned, and the result
//     is checked again: it must be on the site's origin with a path that
//     starts with a single "/" (not "//", not "/\"), so that no spelling
//     ("///evil.com", "/%2f%2fevil.com", ...) becomes a redirect elsewhere.
//   - An Absolute http(s) URL on the site's own origin is treated the same.
//   - Any other Absolute URL must match an allowed return URL: same scheme,
//     same host and port (host case-insensitively), and a cleaned path equal
//     to the allowed path or below it ("/cb" allows "/cb" and "/cb/x", not
//     "/cbevil"; "/cb/" allows "/cb/" and "/cb/x").
//
// Backslashes and control characters are refused anywhere: browsers read
// "\" as "/" and drop tabs and newlines, so "/\evil.com" and "/\t/evil.com"
// mean "//evil.com" to them.
func (s *Site) CheckReturnTo(r *http.Request, raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	forbidden := apierror.ReturnToForbidden(raw)
	if strings.Contains(raw, "\\") || hasControl(raw) {
		return "", forbidden
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil {
		return "", forbidden
	}
	Base := s.Base(r)
	switch {
	case u.Scheme == "" && u.Host == "":
		// url.Parse reads "///evil.com" as a path: refuse anything that does
		// not start with a single "/".
		if !strings.HasPrefix(raw, "/") || !singleSlash(u.EscapedPath()) || !singleSlash(u.Path) {
			return "", forbidden
		}
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return "", forbidden
	case u.Scheme != Base.Scheme || !strings.EqualFold(u.Host, Base.Host):
		if to, ok := s.allowedReturnURL(u); ok {
			return to, nil
		}
		return "", forbidden
	case u.Path != "" && (!singleSlash(u.EscapedPath()) || !singleSlash(u.Path)):
		return "", forbidden
	}
	// A path on the site: rebuild it on the site's origin and check the
	// result, not the input.
	to := &url.URL{Scheme: Base.Scheme, Host: Base.Host, Path: u.Path, RawPath: u.RawPath,
		RawQuery: u.RawQuery, ForceQuery: u.ForceQuery, Fragment: u.Fragment, RawFragment: u.RawFragment}
	cleanURLPath(to)
	out := to.String()
	if !onOrigin(out, Base) {
		return "", forbidden
	}
	return out, nil
}

// allowedReturnURL matches u, an Absolute http(s) URL off the site, against
// the allowed return URLs and returns the URL to send the browser to.
func (s *Site) allowedReturnURL(u *url.URL) (string, bool) {
	p := cleanPath(u.Path)
	for _, allowed := range s.AllowedReturnURLs {
		a, err := url.Parse(allowed)
		if err != nil || a.Host == "" || a.Opaque != "" {
			continue
		}
		if u.Scheme != a.Scheme || !strings.EqualFold(u.Host, a.Host) || !underPath(p, cleanPath(a.Path)) {
			continue
		}
		// The host as configured: a browser cannot map it elsewhere (case
		// folding in EqualFold is Unicode-aware).
		to := *u
		to.Host = a.Host
		cleanURLPath(&to)
		out := to.String()
		if !onOrigin(out, &url.URL{Scheme: a.Scheme, Host: a.Host}) {
			continue
		}
		return out, true
	}
	return "", false
}

// underPath reports whether the cleaned path p is the allowed path or below
// it. An allowed path ending in "/" is a subtree: "/cb/" allows "/cb/" and
// "/cb/x" but not "/cb".
func underPath(p, allowed string) bool {
	if p == allowed || allowed == "/" {
		return true
	}
	if !strings.HasSuffix(allowed, "/") {
		allowed += "/"
	}
	return strings.HasPrefix(p, allowed)
}

// cleanPath is path.Clean for a URL path, keeping a trailing slash: "" and
// "/" are "/", "/a/b/../c/" is "/a/c/", and "/a/b/.." is "/a/" (the
// directory, as a browser resolves it).
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	last := p[strings.LastIndex(p, "/")+1:]
	if c != "/" && (last == "" || last == "." || last == "..") {
		c += "/"
	}
	return c
}

// cleanURLPath cleans u's path in place. A path that is already clean keeps
// its original escaping; one that is not is replaced by its cleaned form, so
// a browser resolves no dot segment the check did not see (it reads "%2e%2e"
// as ".." too).
func cleanURLPath(u *url.URL) {
	if u.Path == "" {
		return
	}
	if c := cleanPath(u.Path); c != u.Path {
		u.Path, u.RawPath = c, ""
	}
}

// singleSlash reports whether a URL path starts with exactly one "/": not
// "//" and not "/\", which browsers read as the start of a host.
func singleSlash(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") && !hasControl(p)
}

// onOrigin reports whether to, an Absolute URL about to be sent to a
// browser, is on origin (scheme and host, host case-insensitively) with a
// path that is empty or starts with a single "/".
func onOrigin(to string, origin *url.URL) bool {
	if origin.Host == "" {
		return false // "http:///x" is "http://x/" to a browser
	}
	prefix := origin.Scheme + "://" + origin.Host
	if len(to) < len(prefix) || !strings.EqualFold(to[:len(prefix)], prefix) {
		return false
	}
	if rest := to[len(prefix):]; rest != "" && !strings.ContainsRune("/?#", rune(rest[0])) {
		return false // "http://site.evil.com", "http://site:80@evil.com"
	}
	if strings.Contains(to, "\\") || hasControl(to) {
		return false
	}
	u, err := url.Parse(to)
	if err != nil || u.User != nil || u.Opaque != "" || u.Scheme != origin.Scheme || !strings.EqualFold(u.Host, origin.Host) {
		return false
	}
	return u.Path == "" && u.RawPath == "" || singleSlash(u.EscapedPath()) && singleSlash(u.Path)
}

// hasControl reports whether s holds an ASCII control character (tab, CR and
// LF among them: browsers silently drop those from URLs).
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f })
}
