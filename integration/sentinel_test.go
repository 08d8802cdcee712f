package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// Failover bounds. The target, documented in the README, is the first
// success within 2 s of the promotion; the test asserts a generous bound,
// as timed assertions on a shared machine are flaky, and logs the
// measurements.
const (
	failoverRecoveryBound = 10 * time.Second
	failoverLoadWorkers   = 4
)

// A Sentinel failover under load, as an operator makes one (SENTINEL
// FAILOVER, then the old master killed) and as a crash of the master makes
// one: requests fail only with the 503 error envelope while there is no
// master, service resumes soon after the promotion, and every session the
// replica had acknowledged before the failover survives. What asynchronous
// replication may lose (writes acknowledged by the old master just before
// the switch) is measured and logged, not asserted.
func TestSentinelFailoverUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Caddy and starts Sentinel groups; skipped with -short")
	}
	t.Run("SENTINEL FAILOVER, then the old master killed", func(t *testing.T) {
		failoverUnderLoad(t, func(group *redistest.Sentinel) (old, promoted string, at time.Time) {
			old, promoted, at = group.Failover()
			group.Kill(old)
			return old, promoted, at
		})
	})
	t.Run("the master crashes", func(t *testing.T) {
		failoverUnderLoad(t, func(group *redistest.Sentinel) (old, promoted string, at time.Time) {
			old = group.Master()
			group.Kill(old)
			promoted, at = group.AwaitNewMaster(old)
			return old, promoted, at
		})
	})
}

// failoverUnderLoad runs the load against a Caddy on a new Sentinel group,
// fails the master over with failover, and checks and measures what the
// load saw.
func failoverUnderLoad(t *testing.T, failover func(*redistest.Sentinel) (old, promoted string, at time.Time)) {
	group := redistest.StartSentinel(t)
	store := fmt.Sprintf("redis {\n\t\t\taddrs %s\n\t\t\tmaster_name %s\n\t\t}", strings.Join(group.Sentinels, " "), redistest.SentinelMaster)
	s := startInstance(t, "sentinel", store, "").site(t)

	var before []string // sessions made before the failover
	for i := range 10 {
		tok, _ := registerAPIVia(t, s, browser(t), fmt.Sprintf("before-%d-%d@example.com", time.Now().UnixNano(), i), "a long enough secret")
		before = append(before, tok)
	}
	load := startLoad(t, s, failoverLoadWorkers)
	time.Sleep(time.Second) // load before the failover

	// Everything acknowledged before this is on the replica.
	synced := time.Now()
	group.WaitReplicated()

	failoverAt := time.Now()
	old, promoted, promotedAt := failover(group)
	t.Logf("failover from %s to %s: the sentinels named the new master %s after it began", old, promoted, ms(promotedAt.Sub(failoverAt)))

	// Run on until every kind of write has succeeded again after the
	// promotion, for 2 s more (or until the bound has long passed).
	deadline := promotedAt.Add(failoverRecoveryBound + 5*time.Second)
	for time.Now().Before(deadline) {
		_, settings := load.firstOK(promotedAt, "settings")
		_, signups := load.firstOK(promotedAt, "signup")
		if settings && signups {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	reqs, signups := load.finish()
	tally(t, reqs)

	// Only 503s with the error envelope; other failures are measured.
	var unavailable, lostFlows int
	var firstFail, lastFail time.Time
	for _, r := range reqs {
		if r.status == http.StatusOK {
			continue
		}
		if firstFail.IsZero() || r.start.Before(firstFail) {
			firstFail = r.start
		}
		if r.end.After(lastFail) {
			lastFail = r.end
		}
		switch {
		case r.err != nil:
			t.Errorf("%s %s after the failover: no answer: %v", r.op, ms(r.start.Sub(failoverAt)), r.err)
		case isUnavailable(r):
			unavailable++
		case (r.op == "settings" || r.op == "signup") && (r.status == http.StatusNotFound || r.status == http.StatusConflict):
			// The flow, or the identity version a settings flow was
			// built on, was a write the old master acknowledged and the
			// new one never got.
			lostFlows++
			t.Logf("%s %s after the failover: %d (a write lost with the old master)\n%s", r.op, ms(r.start.Sub(failoverAt)), r.status, r.body)
		default:
			t.Errorf("%s %s after the failover: status %d, want 200 or the 503 error envelope\n%s", r.op, ms(r.start.Sub(failoverAt)), r.status, r.body)
		}
	}
	if unavailable > 0 {
		t.Logf("measured: %d requests answered 503 (the error envelope), from %s to %s after the failover began (the promotion at %s)",
			unavailable, ms(firstFail.Sub(failoverAt)), ms(lastFail.Sub(failoverAt)), ms(promotedAt.Sub(failoverAt)))
	} else {
		t.Logf("measured: no request answered 503 during the failover")
	}

	// Service resumes after the promotion.
	for _, op := range []string{"whoami", "settings", "signup"} {
		first, ok := load.firstOK(promotedAt, op)
		if !ok || first.Sub(promotedAt) > failoverRecoveryBound {
			t.Errorf("no %s succeeded within %s of the promotion", op, failoverRecoveryBound)
			continue
		}
		t.Logf("measured: first %s success %s after the promotion (target ≤ 2 s)", op, ms(first.Sub(promotedAt)))
	}

	// Sessions acknowledged before the replica confirmed it had them
	// survive; of the later ones, those acknowledged by the old master
	// after the replica's promotion can be lost.
	tokens := append([]string(nil), before...)
	for _, sg := range signups {
		tokens = append(tokens, sg.token)
	}
	valid := stillSignedIn(t, s, tokens)
	for _, tok := range before {
		if !valid[tok] {
			t.Errorf("a session made before the load is gone after the failover")
		}
	}
	var lost []string
	for _, sg := range signups {
		switch {
		case valid[sg.token]:
		case sg.acked.Before(synced):
			t.Errorf("a session acknowledged %s before the replica confirmed it had everything is gone after the failover", ms(synced.Sub(sg.acked)))
		default:
			lost = append(lost, ms(sg.acked.Sub(promotedAt)))
		}
	}
	t.Logf("measured: %d of %d sessions from sign-ups during the load lost; acknowledged at (relative to the promotion): %v", len(lost), len(signups), lost)

	// Profile changes: the last acknowledged one of each worker is the
	// stored one, unless it was lost with the old master.
	for w, name := range lastNames(t, s, load.workers) {
		if name != w.last {
			t.Logf("measured: a profile change acknowledged %s after the promotion is lost: stored %q, acknowledged %q", ms(w.lastAt.Sub(promotedAt)), name, w.last)
		}
	}
	t.Logf("measured: %d submits found their flow, or the identity version it was built on, lost with the old master", lostFlows)
}
