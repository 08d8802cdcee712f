package flows

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
)

// CSRF protection works as nosurf (kratos-api.md §6.2): the cookie holds a
// random 32-byte token; every form carries it masked with a fresh one-time
// pad, so each render is a different string and all of them verify.

const (
	csrfTokenLen     = 32
	csrfCookieMaxAge = 365 * 24 * time.Hour
)

// CSRF failure reasons, as Kratos words them.
const (
	csrfNoCookieHeader = "The HTTP Cookie Header is empty or not set."
	csrfNoCookie       = "The HTTP Cookie Header was set but did not include the anti-CSRF cookie."
	csrfMismatch       = "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow."
	csrfNoToken        = "The anti-CSRF token was included in neither the HTTP body (`csrf_token`) nor the HTTP header (`X-CSRF-Token`)."
)

func (s *Service) csrfCookieName(r *http.Request) string {
	sum := sha256.Sum256([]byte(s.site.PublicBase(r)))
	return csrfCookiePrefix + hex.EncodeToString(sum[:])
}

// csrfFromCookie returns the real token from the request's CSRF cookie, or
// nil when there is none or it is malformed.
func (s *Service) csrfFromCookie(r *http.Request) []byte {
	c, err := r.Cookie(s.csrfCookieName(r))
	if err != nil {
		return nil
	}
	real, err := base64.StdEncoding.DecodeString(c.Value)
	if err != nil || len(real) != csrfTokenLen {
		return nil
	}
	return real
}

// ensureCSRF returns the caller's real CSRF token, setting a new cookie when
// the request has none.
func (s *Service) ensureCSRF(w http.ResponseWriter, r *http.Request) []byte {
	if real := s.csrfFromCookie(r); real != nil {
		return real
	}
	return s.rotateCSRF(w, r)
}

// rotateCSRF sets a new CSRF cookie (after login as another identity and
// after logout) and returns its token.
func (s *Service) rotateCSRF(w http.ResponseWriter, r *http.Request) []byte {
	real := make([]byte, csrfTokenLen)
	_, _ = rand.Read(real)
	http.SetCookie(w, s.cookie(r, s.csrfCookieName(r), base64.StdEncoding.EncodeToString(real), csrfCookieMaxAge))
	return real
}

// maskCSRF returns a fresh masked form of the real token.
func maskCSRF(real []byte) string {
	out := make([]byte, 2*csrfTokenLen)
	_, _ = rand.Read(out[:csrfTokenLen])
	for i := range csrfTokenLen {
		out[csrfTokenLen+i] = real[i] ^ out[i]
	}
	return base64.StdEncoding.EncodeToString(out)
}

// unmaskCSRF returns the real token inside a masked (or plain) token.
func unmaskCSRF(sent string) []byte {
	b, err := base64.StdEncoding.DecodeString(sent)
	if err != nil {
		return nil
	}
	switch len(b) {
	case csrfTokenLen:
		return b
	case 2 * csrfTokenLen:
		real := make([]byte, csrfTokenLen)
		for i := range csrfTokenLen {
			real[i] = b[csrfTokenLen+i] ^ b[i]
		}
		return real
	}
	return nil
}

// hashCSRF binds a flow to a CSRF cookie without storing the token.
func hashCSRF(real []byte) string {
	sum := sha256.Sum256(real)
	return hex.EncodeToString(sum[:])
}

// checkCSRF verifies a submitted token (the X-CSRF-Token header, else the
// body's csrf_token) against the request's CSRF cookie.
func (s *Service) checkCSRF(r *http.Request, fromBody string) error {
	sent := r.Header.Get("X-CSRF-Token")
	if sent == "" {
		sent = fromBody
	}
	real := s.csrfFromCookie(r)
	switch {
	case real == nil && r.Header.Get("Cookie") == "":
		return errCSRF(csrfNoCookieHeader)
	case real == nil:
		return errCSRF(csrfNoCookie)
	case sent == "":
		return errCSRF(csrfNoToken)
	}
	got := unmaskCSRF(sent)
	if got == nil || subtle.ConstantTimeCompare(got, real) != 1 {
		return errCSRF(csrfMismatch)
	}
	return nil
}

func errCSRF(reason string) *apierror.Error {
	e := apierror.Forbidden("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.")
	e.ID = "security_csrf_violation"
	e.Message = "the request was rejected to protect you from Cross-Site-Request-Forgery"
	key := "reject_reason"
	if reason == csrfNoToken {
		key = "hint" // Kratos' word for a token that was not sent at all
	}
	e.Details = map[string]any{key: reason, "docs": "https://www.ory.sh/kratos/docs/debug/csrf"}
	return e
}
