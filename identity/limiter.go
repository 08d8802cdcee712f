package identity

import (
	"context"
	"time"
)

// Limit is how many events a key may have per period.
type Limit struct {
	Events int
	Per    time.Duration
}

// Limiter counts events per key against a limit, for every Caddy instance
// that shares the store: failed logins per identifier, self-service
// requests per client. A store that can keep counters implements it.
type Limiter interface {
	// Peek reports how long until one more event at key is within limit:
	// 0 when it is now. It records nothing.
	Peek(ctx context.Context, key string, limit Limit) (time.Duration, error)
	// Take records one event at key when it is within limit (and returns
	// 0); when it is not, it records nothing and returns how long until
	// it is.
	Take(ctx context.Context, key string, limit Limit) (time.Duration, error)
}
