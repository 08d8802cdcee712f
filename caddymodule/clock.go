package caddymodule

import (
	"sync"
	"sync/atomic"
	"time"
)

// clockOffset is added to the system time by clockNow. It is process-wide, like
// Caddy itself: every handler in the process, and the memory store, see the
// same time. It is zero except while a test has moved the clock.
var clockOffset atomic.Int64 // a time.Duration

// clockNow is the clock of every handler (flows.Config.Now) and of the memory
// store: the system time plus clockOffset, read on every call, so a moved
// clock keeps ticking.
func clockNow() time.Time {
	return time.Now().Add(time.Duration(clockOffset.Load()))
}

// AdvanceClockForTest is for tests only; a server must never call it. It
// moves the clock of every kratos handler in the process (and of the memory
// store) d ahead of the system time, on top of any earlier advance, so that
// a test can expire flows or age sessions without sleeping. The clock keeps
// ticking from there. The Redis store's own expiry (Redis key TTLs) still
// follows Redis' real time.
//
// restore takes the advance back; calling it more than once does nothing
// more. Typical use:
//
//	t.Cleanup(caddymodule.AdvanceClockForTest(time.Hour))
func AdvanceClockForTest(d time.Duration) (restore func()) {
	clockOffset.Add(int64(d))
	var once sync.Once
	return func() { once.Do(func() { clockOffset.Add(-int64(d)) }) }
}
