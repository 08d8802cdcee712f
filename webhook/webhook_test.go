package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed06f30684/caddy-kratos/events"
)

// receiver is a real HTTP server that answers each post with the next
// status of its script (200 once the script is spent).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	got    []*http.Request
	bodies [][]byte
	posts  chan struct{}
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script, posts: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		r.got = append(r.got, req)
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
		w.WriteHeader(status)
		r.posts <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// await waits for n posts, at most 10 s.
func (r *receiver) await(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-r.posts:
		case <-time.After(10 * time.Second):
			t.Fatalf("the hook was not posted to (%d of %d)", len(r.got), n)
		}
	}
}

func newSender(t *testing.T, hooks ...Hook) (*Sender, *observer.ObservedLogs) {
	core, logs := observer.New(zap.InfoLevel)
	s := New(hooks, zap.New(core))
	s.wait = func(int) time.Duration { return time.Millisecond }
	t.Cleanup(s.Close)
	return s, logs
}

var created = events.Event{Name: events.IdentityCreated, Time: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
	IdentityID: "0b7f2b9e-8e3c-4a53-9d6f-6c1f4c3f2a10", Flow: "registration", Method: "password"}

func TestPostsSignedEvent(t *testing.T) {
	r := newReceiver(t)
	s, _ := newSender(t, Hook{URL: r.URL, Timeout: time.Second, Secret: "s3cret"})
	s.Emit(t.Context(), created)
	r.await(t, 1)
	var b Body
	if err := json.Unmarshal(r.bodies[0], &b); err != nil {
		t.Fatal(err)
	}
	if b.Event != events.IdentityCreated || b.IdentityID != created.IdentityID || b.Flow != "registration" || !b.Time.Equal(created.Time) {
		t.Errorf("body %s", r.bodies[0])
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(r.bodies[0])
	if got := r.got[0].Header.Get("X-Kratos-Signature"); got != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q", got)
	}
	if ct := r.got[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestRetriesThenDrops(t *testing.T) {
	r := newReceiver(t, 500, 503, 200)
	s, _ := newSender(t, Hook{URL: r.URL, Timeout: time.Second, Retries: 2})
	s.Emit(t.Context(), created)
	r.await(t, 3) // two failures, then delivered

	failing := newReceiver(t, 500, 500, 500)
	s2, logs := newSender(t, Hook{URL: failing.URL, Timeout: time.Second, Retries: 1})
	s2.Emit(t.Context(), created)
	failing.await(t, 2)
	deadline := time.Now().Add(5 * time.Second)
	for logs.FilterMessage("web hook failed; event dropped").Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if logs.FilterMessage("web hook failed; event dropped").Len() != 1 {
		t.Fatalf("no log of the dropped event: %v", logs.All())
	}
	if n := len(failing.got); n != 2 {
		t.Errorf("%d attempts, want 2 (1 retry)", n)
	}
}

func TestOnlyTheEventsAHookWants(t *testing.T) {
	r := newReceiver(t)
	s, _ := newSender(t, Hook{URL: r.URL, Timeout: time.Second, Events: []string{events.LoginSucceeded}})
	s.Emit(t.Context(), created)
	s.Emit(t.Context(), events.Event{Name: events.LoginSucceeded, IdentityID: created.IdentityID})
	r.await(t, 1)
	if len(r.bodies) != 1 || !json.Valid(r.bodies[0]) {
		t.Fatalf("posts %q", r.bodies)
	}
	var b Body
	_ = json.Unmarshal(r.bodies[0], &b)
	if b.Event != events.LoginSucceeded {
		t.Errorf("posted %s", b.Event)
	}
}

// A hook that does not answer holds up nobody: Emit returns at once, the
// attempt times out.
func TestSlowHookDoesNotBlock(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); slow.Close() })
	s, logs := newSender(t, Hook{URL: slow.URL, Timeout: 50 * time.Millisecond})
	start := time.Now()
	for range QueueSize + 10 {
		s.Emit(t.Context(), created)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Emit took %s", d)
	}
	if logs.FilterMessage("web hook queue full: event dropped").Len() == 0 {
		t.Error("a full queue dropped nothing")
	}
}

func TestBlockingCheck(t *testing.T) {
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"messages":[{"instance_ptr":"#/traits/email","messages":[{"id":1,"text":"Sign-ups from this domain are closed.","type":"error"}]}]}`))
	}))
	t.Cleanup(refuse.Close)
	allow := newReceiver(t)
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); slow.Close() })

	s, _ := newSender(t,
		Hook{URL: allow.URL, Timeout: time.Second, Blocking: true},
		Hook{URL: refuse.URL, Timeout: time.Second, Blocking: true, Events: []string{events.IdentityCreated}})
	var refusal *events.Refusal
	if err := s.Check(t.Context(), created); !errors.As(err, &refusal) || refusal.Reason != "Sign-ups from this domain are closed." {
		t.Fatalf("Check = %v, want the hook's refusal", err)
	}
	if err := s.Check(t.Context(), events.Event{Name: events.LoginSucceeded}); err != nil {
		t.Fatalf("an event the refusing hook does not take: %v", err)
	}
	// A blocking hook is asked, not told afterwards.
	s.Emit(t.Context(), created)
	if n := len(allow.posts); n != 2 {
		t.Errorf("the blocking hook got %d posts, want the 2 checks only", n)
	}

	late, _ := newSender(t, Hook{URL: slow.URL, Timeout: 50 * time.Millisecond, Blocking: true})
	if err := late.Check(t.Context(), created); err == nil || errors.As(err, &refusal) {
		t.Fatalf("a hook that does not answer: %v, want an error that is no refusal", err)
	}
}
