// Package storetest is the contract suite for identity.Store: every store (the
// memory store, the Redis store on one server and on a cluster) runs the same
// tests, so they all answer the same way.
package storetest

import (
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// short is the lifetime of records that a test lets expire. Waiting is done
// through Options.Wait: instantly on a fake clock, a real sleep of twice this
// otherwise.
const short = 100 * time.Millisecond

// Options adapt the suite to a store.
type Options struct {
	// Now is the clock the store expires records by. Nil: time.Now.
	Now func() time.Time
	// Wait lets d pass on that clock. Nil: time.Sleep.
	Wait func(d time.Duration)
	// Dump returns everything store s keeps, keys and values, as text; the
	// suite checks that no raw session token is in it. Nil skips the check.
	Dump func(t *testing.T, s identity.Store) string
}

// suite holds what every test of the contract needs.
type suite struct {
	newStore func(t *testing.T) identity.Store
	opts     Options
}

// Run runs the contract suite. newStore returns a new, empty store for one
// subtest (and registers its cleanup with t). At most one Options may be
// given.
//
// Subtests run one after another: time-dependent ones move a shared clock.
func Run(t *testing.T, newStore func(t *testing.T) identity.Store, opts ...Options) {
	if len(opts) > 1 {
		t.Fatal("storetest.Run: more than one Options")
	}
	s := &suite{newStore: newStore}
	if len(opts) == 1 {
		s.opts = opts[0]
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.Wait == nil {
		s.opts.Wait = time.Sleep
	}
	t.Run("Identities", s.testIdentities)
	t.Run("Sessions", s.testSessions)
	t.Run("Flows", s.testFlows)
	t.Run("Continuity", s.testContinuity)
	t.Run("Races", s.testRaces)
	t.Run("Limiter", s.testLimiter)
	t.Run("Messages", s.testMessages)
	t.Run("Codes", s.testCodes)
}

// now is the store's current time, in UTC and without a monotonic reading.
func (s *suite) now() time.Time {
	return s.opts.Now().UTC().Round(0)
}

// waitPast lets a record that expires within `short` from now expire.
func (s *suite) waitPast() {
	s.opts.Wait(2 * short)
}
