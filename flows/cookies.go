package flows

import (
	"net/http"
	"time"

	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// Cookie names (docs/differences.md).
const (
	SessionCookie    = "ory_kratos_session"
	ContinuityCookie = "ory_kratos_continuity"
	csrfCookiePrefix = "csrf_token_"
)

// cookieJar sets and reads the cookies of one site: the session, CSRF and
// continuity cookies, all with the same attributes.
type cookieJar struct {
	site   *siteurl.Site
	domain string
	now    func() time.Time
}

// cookie returns a cookie with the attributes every cookie of ours has:
// HttpOnly, SameSite=Lax, Path=/, Secure on https, the configured domain.
func (s *cookieJar) cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Domain:   s.domain,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   s.site.Base(r).Scheme == "https",
	}
	switch {
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
		c.Expires = s.now().Add(maxAge).UTC()
	case maxAge < 0:
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0)
	}
	return c
}

func (s *cookieJar) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expiresAt time.Time) {
	http.SetCookie(w, s.cookie(r, SessionCookie, token, expiresAt.Sub(s.now())))
}

func (s *cookieJar) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.cookie(r, SessionCookie, "", -1))
}
