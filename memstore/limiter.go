package memstore

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// limiterEntry is one key's token bucket.
type limiterEntry struct {
	lim   *rate.Limiter
	limit identity.Limit
}

// bucket returns key's token bucket for limit (a new, full one when the
// limit changed); the caller holds m.mu.
func (m *Store) bucket(key string, limit identity.Limit) *rate.Limiter {
	e, ok := m.limiters[key]
	if !ok || e.limit != limit {
		e = limiterEntry{lim: rate.NewLimiter(rate.Every(limit.Per/time.Duration(limit.Events)), limit.Events), limit: limit}
		m.limiters[key] = e
	}
	return e.lim
}

// Peek implements identity.Limiter.
func (m *Store) Peek(_ context.Context, key string, limit identity.Limit) (time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return untilOne(m.bucket(key, limit), now), nil
}

// Take implements identity.Limiter.
func (m *Store) Take(_ context.Context, key string, limit identity.Limit) (time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	lim := m.bucket(key, limit)
	if lim.AllowN(now, 1) {
		return 0, nil
	}
	return untilOne(lim, now), nil
}

// untilOne is how long until lim holds one token.
func untilOne(lim *rate.Limiter, now time.Time) time.Duration {
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
}

// sweepLimiters drops the buckets that are full again: they hold nothing a
// new bucket would not. The caller holds m.mu.
func (m *Store) sweepLimiters(now time.Time) {
	for k, e := range m.limiters {
		if e.lim.TokensAt(now) >= float64(e.limit.Events) {
			delete(m.limiters, k)
		}
	}
}
