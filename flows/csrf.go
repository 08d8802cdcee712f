package flows

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/seed06f30684/caddy-kratos/internal/csrf"
)

// CSRF protection works as nosurf (docs/api.md, "CSRF"): the cookie holds a
// random 32-byte token; every form carries it masked with a fresh one-time
// pad, so each render is a different string and all of them verify.

const (
	csrfCookieMaxAge = 365 * 24 * time.Hour
)

func (s *cookieJar) csrfCookieName(r *http.Request) string {
	sum := sha256.Sum256([]byte(s.site.PublicBase(r)))
	return csrfCookiePrefix + hex.EncodeToString(sum[:])
}

// csrfFromCookie returns the real token from the request's CSRF cookie, or
// nil when there is none or it is malformed.
func (s *cookieJar) csrfFromCookie(r *http.Request) []byte {
	c, err := r.Cookie(s.csrfCookieName(r))
	if err != nil {
		return nil
	}
	real, err := base64.StdEncoding.DecodeString(c.Value)
	if err != nil || len(real) != csrf.TokenLen {
		return nil
	}
	return real
}

// ensureCSRF returns the caller's real CSRF token, setting a new cookie when
// the request has none.
func (s *cookieJar) ensureCSRF(w http.ResponseWriter, r *http.Request) []byte {
	if real := s.csrfFromCookie(r); real != nil {
		return real
	}
	return s.rotateCSRF(w, r)
}

// rotateCSRF sets a new CSRF cookie (after login as another identity and
// after logout) and returns its token.
func (s *cookieJar) rotateCSRF(w http.ResponseWriter, r *http.Request) []byte {
	real := make([]byte, csrf.TokenLen)
	_, _ = rand.Read(real)
	http.SetCookie(w, s.cookie(r, s.csrfCookieName(r), base64.StdEncoding.EncodeToString(real), csrfCookieMaxAge))
	return real
}

// checkCSRF verifies a submitted token (the X-CSRF-Token header, else the
// body's csrf_token) against the request's CSRF cookie.
func (s *cookieJar) checkCSRF(r *http.Request, fromBody string) error {
	sent := r.Header.Get("X-CSRF-Token")
	if sent == "" {
		sent = fromBody
	}
	real := s.csrfFromCookie(r)
	switch {
	case real == nil && r.Header.Get("Cookie") == "":
		return csrf.Violation(csrf.NoCookieHeader)
	case real == nil:
		return csrf.Violation(csrf.NoCookie)
	case sent == "":
		return csrf.Violation(csrf.NoToken)
	}
	got := csrf.Unmask(sent)
	if got == nil || subtle.ConstantTimeCompare(got, real) != 1 {
		return csrf.Violation(csrf.Mismatch)
	}
	return nil
}
