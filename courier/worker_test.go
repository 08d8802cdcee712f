package courier

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/memstore"
	"github.com/seed06f30684/caddy-kratos/redisstore"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// eventually waits (polling the worker's results, not a clock) until cond
// holds, for at most 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startWorker starts a worker on st sending through srv, stopped when the
// test ends.
func startWorker(t *testing.T, st identity.Messages, srv *testSMTP, cfg Config) *Worker {
	t.Helper()
	sender, err := NewSMTP(srv.URI(), "Example <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := LoadTemplates("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Sender, cfg.Templates = st, sender, tpl
	cfg.Poll = 5 * time.Millisecond
	cfg.BackoffBase, cfg.BackoffMax = time.Millisecond, 10*time.Millisecond
	w, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

func queue(t *testing.T, st identity.Messages, code string) *identity.Message {
	t.Helper()
	m := &identity.Message{Recipient: "ada@example.com", TemplateType: identity.TemplateRecoveryCodeValid, TemplateData: map[string]any{"RecoveryCode": code}}
	if err := st.QueueMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func status(t *testing.T, st identity.Messages, id string) *identity.Message {
	t.Helper()
	m, err := st.GetMessage(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type countingMetrics struct{ sent, failed, abandoned, backlog atomic.Int64 }

func (m *countingMetrics) Sent()         { m.sent.Add(1) }
func (m *countingMetrics) Failed()       { m.failed.Add(1) }
func (m *countingMetrics) Abandoned()    { m.abandoned.Add(1) }
func (m *countingMetrics) Backlog(n int) { m.backlog.Store(int64(n)) }

// TestWorkerRetriesUntilAccepted: the server refuses (451) for a while and
// then accepts; every message arrives exactly once, and queueing never
// waits on the server.
func TestWorkerRetriesUntilAccepted(t *testing.T) {
	st := memstore.New()
	srv := startSMTP(t, false)
	srv.refuse = func(n int) *smtp.SMTPError {
		if n <= 4 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	}
	hold := make(chan struct{})
	srv.hold = hold
	metrics := &countingMetrics{}
	startWorker(t, st, srv, Config{Metrics: metrics})

	first := queue(t, st, "100001")
	eventually(t, "the server holds the first attempt", func() bool { return srv.Attempts() == 1 })
	// The server hangs; queueing more mail does not wait on it.
	start := time.Now()
	ms := []*identity.Message{first, queue(t, st, "100002"), queue(t, st, "100003")}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("queueing took %v while the mail server hung", d)
	}
	close(hold)

	eventually(t, "all three are sent", func() bool {
		for _, m := range ms {
			if status(t, st, m.ID).Status != identity.MessageSent {
				return false
			}
		}
		return true
	})
	mails, bodies := srv.Mails()
	if len(mails) != 3 {
		t.Fatalf("the server accepted %d mails, want 3", len(mails))
	}
	seen := map[string]bool{}
	for i, m := range mails {
		seen[m.Header.Get("Message-Id")] = true
		if !strings.Contains(bodies[i], "10000") {
			t.Errorf("mail %d lacks its code: %s", i, bodies[i])
		}
	}
	for _, m := range ms {
		if !seen["<"+m.ID+"@example.com>"] {
			t.Errorf("message %s was not delivered", m.ID)
		}
	}
	var failures int
	for _, m := range ms {
		got := status(t, st, m.ID)
		if got.TemplateData != nil || got.Subject != "Recover access to your account" {
			t.Errorf("sent message: template data %v, subject %q", got.TemplateData, got.Subject)
		}
		for _, d := range got.Dispatches {
			if d.Status == identity.DispatchFailed {
				failures++
				if !strings.Contains(d.Error, "451") || strings.Contains(d.Error, "ada@example.com") {
					t.Errorf("failed dispatch error %q: want the 451, not the address", d.Error)
				}
			}
		}
	}
	if failures != 4 || metrics.failed.Load() != 4 || metrics.sent.Load() != 3 || metrics.abandoned.Load() != 0 {
		t.Errorf("failures: %d dispatches, metrics failed %d sent %d abandoned %d; want 4, 4, 3, 0",
			failures, metrics.failed.Load(), metrics.sent.Load(), metrics.abandoned.Load())
	}
}

// TestWorkerAbandons: a permanent refusal abandons at once; temporary ones
// after the retries. The log names the message, never the address or body.
func TestWorkerAbandons(t *testing.T) {
	for _, c := range []struct {
		name     string
		code     int
		attempts int
	}{{"permanent", 550, 1}, {"retries exhausted", 421, 3}} {
		t.Run(c.name, func(t *testing.T) {
			st := memstore.New()
			srv := startSMTP(t, false)
			srv.refuse = func(int) *smtp.SMTPError {
				return &smtp.SMTPError{Code: c.code, EnhancedCode: smtp.EnhancedCode{c.code / 100, 0, 0}, Message: "refused <ada@example.com>"}
			}
			core, logs := observer.New(zap.InfoLevel)
			startWorker(t, st, srv, Config{Retries: 2, Logger: zap.New(core)})
			m := queue(t, st, "999999")
			eventually(t, "the message is abandoned", func() bool { return status(t, st, m.ID).Status == identity.MessageAbandoned })
			got := status(t, st, m.ID)
			if got.SendCount != c.attempts || srv.Attempts() != c.attempts || got.TemplateData != nil {
				t.Errorf("send_count %d, server attempts %d, template data %v; want %d attempts, no data", got.SendCount, srv.Attempts(), got.TemplateData, c.attempts)
			}
			abandoned := logs.FilterMessage("courier: message abandoned").All()
			if len(abandoned) != 1 || abandoned[0].ContextMap()["message_id"] != m.ID || abandoned[0].ContextMap()["template_type"] != m.TemplateType {
				t.Errorf("abandon log: %+v", abandoned)
			}
			for _, e := range logs.All() {
				line := fmt.Sprint(e.Message, e.ContextMap())
				if strings.Contains(line, "ada@example.com") || strings.Contains(line, "999999") {
					t.Errorf("a log line shows the recipient or the code: %s", line)
				}
			}
		})
	}
}

// TestWorkerTakesOverADeadClaim: on one real redis-server, instance A
// claims a message and dies without acknowledging it; instance B's worker
// delivers it once A's lease has passed.
func TestWorkerTakesOverADeadClaim(t *testing.T) {
	addr := redistest.StartServer(t)
	open := func() *redisstore.Store {
		s, err := redisstore.New(redisstore.Options{Addrs: []string{addr}, KeyPrefix: "courier-test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()
	const lease = 200 * time.Millisecond

	m := queue(t, a, "314159")
	claimed, err := a.ClaimMessages(context.Background(), "instance-a", 10, lease)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("A's claim: %v, %v", claimed, err)
	}
	_ = a.Close() // A dies: no report, no acknowledgement

	srv := startSMTP(t, false)
	startWorker(t, b, srv, Config{Lease: lease, Name: "instance-b"})
	eventually(t, "B delivers the message", func() bool { return status(t, b, m.ID).Status == identity.MessageSent })
	got := status(t, b, m.ID)
	if mails, _ := srv.Mails(); len(mails) != 1 || got.SendCount != 2 {
		t.Errorf("%d mails, send_count %d; want one mail, claimed twice", len(mails), got.SendCount)
	}
}

func TestWorkerStop(t *testing.T) {
	srv := startSMTP(t, false)
	w := startWorker(t, memstore.New(), srv, Config{})
	w.Stop()
	w.Stop() // twice is fine
	if _, err := Start(Config{}); err == nil {
		t.Error("Start without a store, sender and templates succeeded")
	}
}
