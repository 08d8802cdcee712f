package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/seed06f30684/caddy-kratos/identity"
)

var _ identity.Limiter = (*Store)(nil)

// limiterKey is the key of a limiter's counter (redis_rate adds its own
// "rate:" in front): under the store's prefix, with a hash tag of its own.
func (k keys) limiter(key string) string { return k.tag("l:"+key) + "limit" }

func rateLimit(l identity.Limit) redis_rate.Limit {
	return redis_rate.Limit{Rate: l.Events, Burst: l.Events, Period: l.Per}
}

// Peek implements identity.Limiter in one round trip, on Redis' clock.
func (s *Store) Peek(ctx context.Context, key string, limit identity.Limit) (time.Duration, error) {
	if !validID(key) {
		return 0, fmt.Errorf("redisstore: limiter key %q has braces", key)
	}
	res, err := redis_rate.NewLimiter(s.client).AllowN(ctx, s.keys.limiter(key), rateLimit(limit), 0)
	if err != nil {
		return 0, wrap("peek limiter", err)
	}
	if res.Remaining >= 1 {
		return 0, nil
	}
	// The counter is full again after ResetAfter; one event fits one
	// emission interval before that.
	wait := res.ResetAfter - limit.Per/time.Duration(limit.Events)*time.Duration(limit.Events-1)
	return max(wait, time.Millisecond), nil
}

// Take implements identity.Limiter in one round trip, on Redis' clock.
func (s *Store) Take(ctx context.Context, key string, limit identity.Limit) (time.Duration, error) {
	if !validID(key) {
		return 0, fmt.Errorf("redisstore: limiter key %q has braces", key)
	}
	res, err := redis_rate.NewLimiter(s.client).Allow(ctx, s.keys.limiter(key), rateLimit(limit))
	if err != nil {
		return 0, wrap("take limiter", err)
	}
	if res.Allowed > 0 {
		return 0, nil
	}
	return max(res.RetryAfter, time.Millisecond), nil
}
