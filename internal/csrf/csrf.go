// Package csrf is the anti-CSRF token scheme of browser flows, as nosurf
// (and so Kratos) has it: a cookie holds a random 32-byte token; every form
// carries it masked with a fresh one-time pad, so each render is a
// different string and all of them verify. Flows are bound to the cookie by
// the token's hash, never the token itself.
package csrf

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
)

// TokenLen is the length of a real token, in bytes.
const TokenLen = 32

// CSRF failure reasons, as Kratos words them.
const (
	NoCookieHeader = "The HTTP Cookie Header is empty or not set."
	NoCookie       = "The HTTP Cookie Header was set but did not include the anti-CSRF cookie."
	Mismatch       = "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow."
	NoToken        = "The anti-CSRF token was included in neither the HTTP body (`csrf_token`) nor the HTTP header (`X-CSRF-Token`)."
)

// Mask returns a fresh masked form of the real token.
func Mask(real []byte) string {
	out := make([]byte, 2*TokenLen)
	_, _ = rand.Read(out[:TokenLen])
	for i := range TokenLen {
		out[TokenLen+i] = real[i] ^ out[i]
	}
	return base64.StdEncoding.EncodeToString(out)
}

// Unmask returns the real token inside a masked (or plain) token.
func Unmask(sent string) []byte {
	b, err := base64.StdEncoding.DecodeString(sent)
	if err != nil {
		return nil
	}
	switch len(b) {
	case TokenLen:
		return b
	case 2 * TokenLen:
		real := make([]byte, TokenLen)
		for i := range TokenLen {
			real[i] = b[TokenLen+i] ^ b[i]
		}
		return real
	}
	return nil
}

// Hash binds a flow to a CSRF cookie without storing the token.
func Hash(real []byte) string {
	sum := sha256.Sum256(real)
	return hex.EncodeToString(sum[:])
}

func Violation(reason string) *apierror.Error {
	e := apierror.Forbidden("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.")
	e.ID = "security_csrf_violation"
	e.Message = "the request was rejected to protect you from Cross-Site-Request-Forgery"
	key := "reject_reason"
	if reason == NoToken {
		key = "hint" // Kratos' word for a token that was not sent at all
	}
	e.Details = map[string]any{key: reason, "docs": "https://www.ory.sh/kratos/docs/debug/csrf"}
	return e
}
