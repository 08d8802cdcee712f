package storetest

import (
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testLimiter covers Peek and Take: events within the limit are taken,
// the next one waits, peeking records nothing, keys are independent.
func (s *suite) testLimiter(t *testing.T) {
	st, ok := s.newStore(t).(identity.Limiter)
	if !ok {
		t.Fatal("the store does not implement identity.Limiter")
	}
	ctx := t.Context()
	limit := identity.Limit{Events: 3, Per: time.Hour}
	key := "test:" + identity.NewID()
	for i := range 3 {
		if wait, err := st.Peek(ctx, key, limit); err != nil || wait != 0 {
			t.Fatalf("peek before event %d: wait %v, %v", i+1, wait, err)
		}
		if wait, err := st.Take(ctx, key, limit); err != nil || wait != 0 {
			t.Fatalf("event %d of 3: wait %v, %v", i+1, wait, err)
		}
	}
	for _, op := range []struct {
		name string
		f    func() (time.Duration, error)
	}{{"peek", func() (time.Duration, error) { return st.Peek(ctx, key, limit) }}, {"take", func() (time.Duration, error) { return st.Take(ctx, key, limit) }}} {
		wait, err := op.f()
		// One event comes back every Per/Events.
		if err != nil || wait <= 0 || wait > limit.Per/3 {
			t.Fatalf("%s past the limit: wait %v, %v; want up to %v", op.name, wait, err, limit.Per/3)
		}
	}
	if wait, err := st.Take(ctx, "test:"+identity.NewID(), limit); err != nil || wait != 0 {
		t.Fatalf("another key: wait %v, %v", wait, err)
	}
}
