package flows

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// What the Caddy handler needs for the requests it passes on to the app.

// RequireSession answers a request that needs a session and has none. A JSON
// caller (Accept prefers application/json, or a JSON body) or an API client
// (it sent X-Session-Token or a Bearer token) gets 401 session_inactive in
// the error envelope. A browser is sent (303) to the browser login flow with
// return_to pointing back at the page it asked for, so it lands there after
// signing in.
//
// page is the path and query of that page as the client asked for it
// ("/account?tab=2"), before any rewrite; "" means r.URL's.
func (s *Service) RequireSession(w http.ResponseWriter, r *http.Request, page string) {
	if negotiate.WantsJSON(r) || sentAPIToken(r) {
		s.writeError(w, r, apierror.SessionInactive())
		return
	}
	var q url.Values
	if returnTo := s.pageReturnTo(r, page); returnTo != "" {
		q = url.Values{"return_to": {returnTo}}
	}
	reply.Redirect(w, s.site.PublicURL(r, "/self-service/login/browser", q), http.StatusSeeOther)
}

// StoreUnavailable answers 503 in the error envelope: the identity store
// could not be reached. The caller logs the cause.
func (s *Service) StoreUnavailable(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, apierror.Unavailable())
}

// Privileged reports whether sess authenticated recently enough, now, to
// make protected changes (privileged_session_max_age).
func (s *Service) Privileged(sess *identity.Session) bool {
	return sess.IsPrivileged(s.cfg.Now(), s.cfg.PrivilegedSessionMaxAge)
}

// pageReturnTo is the absolute URL of the page, as the login flow's
// return_to: exactly what checkReturnTo accepts when the flow starts. A page
// whose query it refuses goes back without the query; "" when not even the
// path is accepted.
func (s *Service) pageReturnTo(r *http.Request, page string) string {
	if page == "" {
		page = r.URL.RequestURI()
	}
	candidates := []string{page}
	if path, _, ok := strings.Cut(page, "?"); ok {
		candidates = append(candidates, path)
	}
	for _, c := range candidates {
		if !strings.HasPrefix(c, "/") || strings.HasPrefix(c, "//") {
			continue
		}
		if abs, err := s.site.CheckReturnTo(r, s.site.Absolute(r, c)); err == nil && abs != "" {
			return abs
		}
	}
	return ""
}

// sentAPIToken reports whether the request carries a session token the way
// API clients send it (not a cookie).
func sentAPIToken(r *http.Request) bool {
	if r.Header.Get("X-Session-Token") != "" {
		return true
	}
	h := r.Header.Get("Authorization")
	return len(h) > 7 && strings.EqualFold(h[:7], "bearer ")
}
