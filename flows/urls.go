package flows

import (
	"net/http"
	"net/url"
	"strings"
)

// base returns the site's public scheme and host: the configured public URL,
// else the request's own.
func (s *Service) base(r *http.Request) *url.URL {
	if s.cfg.PublicURL != nil {
		return &url.URL{Scheme: s.cfg.PublicURL.Scheme, Host: s.cfg.PublicURL.Host}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
}

// publicURL is the absolute URL of a public API path ("/self-service/...").
func (s *Service) publicURL(r *http.Request, path string, query url.Values) string {
	u := s.base(r)
	u.Path = s.cfg.PublicPrefix + path
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// publicBaseString is the public API base URL with a trailing slash, as
// Kratos names it (the CSRF cookie name is derived from it).
func (s *Service) publicBaseString(r *http.Request) string {
	return s.publicURL(r, "/", nil)
}

// absolute turns a configured URL or site path into an absolute URL.
func (s *Service) absolute(r *http.Request, ref string) string {
	if strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref, "//") {
		u := s.base(r)
		parsed, err := url.Parse(ref)
		if err != nil {
			return u.String() + ref
		}
		return u.ResolveReference(parsed).String()
	}
	return ref
}

// withQuery adds query parameters to an absolute URL.
func withQuery(raw string, kv ...string) string {
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
	uiLoginPath        = "/ui/login"
	uiRegistrationPath = "/ui/registration"
	uiSettingsPath     = "/ui/settings"
	uiProfilePath      = "/ui/profile"
	uiErrorPath        = "/ui/error"
)

func (s *Service) uiURL(r *http.Request, configured, builtin string) string {
	if configured != "" {
		return s.absolute(r, configured)
	}
	return s.publicURL(r, builtin, nil)
}

func (s *Service) loginUI(r *http.Request) string {
	return s.uiURL(r, s.cfg.UI.Login, uiLoginPath)
}

func (s *Service) registrationUI(r *http.Request) string {
	return s.uiURL(r, s.cfg.UI.Registration, uiRegistrationPath)
}

func (s *Service) settingsUI(r *http.Request) string {
	return s.uiURL(r, s.cfg.UI.Settings, uiSettingsPath)
}

func (s *Service) profileUI(r *http.Request) string {
	return s.uiURL(r, s.cfg.UI.Profile, uiProfilePath)
}

func (s *Service) errorUI(r *http.Request) string {
	return s.uiURL(r, s.cfg.UI.Error, uiErrorPath)
}

// defaultReturnURL is where browsers go after a flow without return_to.
func (s *Service) defaultReturnURL(r *http.Request) string {
	if s.cfg.DefaultReturnURL != "" {
		return s.absolute(r, s.cfg.DefaultReturnURL)
	}
	return s.absolute(r, "/")
}

// checkReturnTo validates a return_to value. Paths on the site itself and
// URLs on the site's own origin are always allowed; other URLs must start
// with an allowed return URL (same scheme and host, path prefix). It returns
// the absolute URL, or "" for an empty value.
func (s *Service) checkReturnTo(r *http.Request, raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if strings.ContainsAny(raw, "\\\r\n\t") {
		return "", errReturnToForbidden(raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errReturnToForbidden(raw)
	}
	if u.Scheme == "" && u.Host == "" {
		if !strings.HasPrefix(u.Path, "/") {
			return "", errReturnToForbidden(raw)
		}
		return s.absolute(r, u.String()), nil
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", errReturnToForbidden(raw)
	}
	base := s.base(r)
	if u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host) {
		return u.String(), nil
	}
	for _, allowed := range s.cfg.AllowedReturnURLs {
		a, err := url.Parse(allowed)
		if err != nil || a.Host == "" {
			continue
		}
		if u.Scheme == a.Scheme && strings.EqualFold(u.Host, a.Host) && strings.HasPrefix(u.Path, a.Path) {
			return u.String(), nil
		}
	}
	return "", errReturnToForbidden(raw)
}
