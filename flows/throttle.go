package flows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
)

// throttle bounds guessing: failed logins per identifier and self-service
// requests per client, counted in the store so that every Caddy instance
// sharing it shares the counts. A nil limiter, or a limit of zero events,
// limits nothing.
type throttle struct {
	limiter identity.Limiter
}

// loginKey is the counter of failed logins of an identifier: a hash, so no
// identifier is written into a key.
func (t throttle) loginKey(identifier string) string {
	sum := sha256.Sum256([]byte(identifier))
	return "login-failures:" + hex.EncodeToString(sum[:16])
}

func (t throttle) peek(ctx context.Context, key string, limit identity.Limit) (time.Duration, error) {
	if t.limiter == nil || limit.Events <= 0 {
		return 0, nil
	}
	return t.limiter.Peek(ctx, key, limit)
}

func (t throttle) take(ctx context.Context, key string, limit identity.Limit) (time.Duration, error) {
	if t.limiter == nil || limit.Events <= 0 {
		return 0, nil
	}
	return t.limiter.Take(ctx, key, limit)
}

// retryAfter is a Retry-After value: whole seconds, at least 1.
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// throttled reports whether requests to the public path rel count toward
// Config.Requests: those of the flows anyone can start, which send mail
// (verification, recovery) or check passwords (login, registration).
func throttled(rel string) bool {
	for _, p := range []string{"/self-service/login", "/self-service/registration", "/self-service/recovery", "/self-service/verification"} {
		if strings.HasPrefix(rel, p) {
			return true
		}
	}
	return false
}

// limitRequests counts a login, registration, recovery or verification request of its client and answers
// 429 when the client is over Config.Requests; it reports whether it
// answered. Browsers get the built-in error page (nothing is stored for
// the error UI: a client over its limit writes nothing).
func (s *Service) limitRequests(w http.ResponseWriter, r *http.Request, rel string) bool {
	if !throttled(rel) {
		// Only the flows anyone can start: the others need a session, and
		// a settings submit stays at two store round trips.
		return false
	}
	wait, err := s.throttle.take(r.Context(), "requests:"+s.cfg.ClientIP(r), s.cfg.Requests)
	if err != nil {
		// The store cannot count: the handler answers the outage its own
		// way (an API flow's JSON, a browser's error page).
		return false
	}
	if wait == 0 {
		return false
	}
	w.Header().Set("Retry-After", retryAfter(wait))
	e := apierror.TooManyRequests(wait)
	if negotiate.WantsJSON(r) {
		s.writeError(w, r, e)
	} else {
		s.ui.RenderError(w, r, e)
	}
	return true
}
