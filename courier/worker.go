package courier

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/storelog"
)

// Defaults of Config.
const (
	DefaultRetries     = 5
	DefaultLease       = time.Minute
	DefaultPoll        = time.Second
	DefaultBatch       = 10
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 5 * time.Minute
	// backlogEvery is how often the worker counts the queued messages for
	// Metrics.Backlog.
	backlogEvery = 15 * time.Second
)

// Metrics counts what the worker does. Implementations must be safe for
// concurrent use; nil counts nothing.
type Metrics interface {
	Sent()
	Failed()    // an attempt failed (it may be retried)
	Abandoned() // a message was given up
	Backlog(n int)
}

// Config configures a Worker.
type Config struct {
	Store     identity.Messages // required
	Sender    Sender            // required
	Templates *Templates        // required
	Logger    *zap.Logger       // nil: no logs
	Metrics   Metrics           // nil: none
	// Retries is how many times a failed message is tried again before it
	// is abandoned (so at most Retries+1 attempts). 0: DefaultRetries; a
	// negative number: none.
	Retries int
	// Lease is how long a claim holds: a message whose worker has not
	// reported by then (its instance died) is claimed by another worker.
	// It must be longer than SendTimeout. 0: DefaultLease.
	Lease time.Duration
	// Poll is how often the worker looks for due messages. 0: DefaultPoll.
	Poll time.Duration
	// Batch is how many messages one claim takes. 0: DefaultBatch.
	Batch int
	// BackoffBase and BackoffMax shape the retry delays: BackoffBase,
	// twice that, four times… at most BackoffMax.
	BackoffBase, BackoffMax time.Duration
	// Name names this worker in the store's claims. "": host name and
	// process id.
	Name string
}

// Worker is the background loop of one Caddy instance: it claims due
// messages, renders and sends them, and reports each outcome to the store.
type Worker struct {
	cfg      Config
	log      *zap.Logger
	storeLog *zap.Logger
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// Start checks cfg, fills in its defaults and starts a worker.
func Start(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Sender == nil || cfg.Templates == nil {
		return nil, fmt.Errorf("courier: a worker needs a store, a sender and templates")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	cfg.Lease = orDefault(cfg.Lease, DefaultLease)
	cfg.Poll = orDefault(cfg.Poll, DefaultPoll)
	cfg.BackoffBase = orDefault(cfg.BackoffBase, DefaultBackoffBase)
	cfg.BackoffMax = orDefault(cfg.BackoffMax, DefaultBackoffMax)
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), identity.NewID()[:8])
	}
	w := &Worker{
		cfg: cfg, log: cfg.Logger, storeLog: storelog.Sampled(cfg.Logger),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go w.run()
	return w, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Stop stops the worker and waits until it has stopped. A mail being sent
// is finished first (at most SendTimeout), so that it is reported and not
// sent again by another worker. Calling Stop more than once is safe.
func (w *Worker) Stop() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

// run is the worker's loop: claim, send, wait for the next poll.
func (w *Worker) run() {
	defer close(w.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastBacklog time.Time
	for {
		select {
		case <-w.stop:
			return
		case <-timer.C:
		}
		n := w.round()
		if w.cfg.Metrics != nil && time.Since(lastBacklog) >= backlogEvery {
			lastBacklog = time.Now()
			if p, err := w.cfg.Store.ListMessages(context.Background(), identity.MessageQuery{Status: identity.MessageQueued}); err == nil {
				w.cfg.Metrics.Backlog(p.Total)
			}
		}
		next := w.cfg.Poll
		if n == w.cfg.Batch {
			next = 0 // there may be more waiting
		}
		timer.Reset(next)
	}
}

// round claims one batch and delivers it; it returns how many messages it
// claimed.
func (w *Worker) round() int {
	ctx := context.Background()
	msgs, err := w.cfg.Store.ClaimMessages(ctx, w.cfg.Name, w.cfg.Batch, w.cfg.Lease)
	if err != nil {
		w.storeLog.Warn("courier: cannot claim messages from the store; mail waits until it answers", zap.Error(err))
		return 0
	}
	for _, m := range msgs {
		select {
		case <-w.stop:
			// Not sent: the lease runs out and a worker takes it again.
			return len(msgs)
		default:
		}
		w.deliver(ctx, m)
	}
	return len(msgs)
}

// deliver sends one claimed message and reports the outcome.
func (w *Worker) deliver(ctx context.Context, m *identity.Message) {
	fields := []zap.Field{zap.String("message_id", m.ID), zap.String("template_type", m.TemplateType), zap.Int("send_count", m.SendCount)}
	if m.SendCount > w.cfg.Retries+1 {
		// Claimed again and again without a report: its workers die on it.
		w.abandon(ctx, m, "", "the message was claimed too often without being delivered", fields)
		return
	}
	r, err := w.cfg.Templates.Render(m)
	if err != nil {
		w.abandon(ctx, m, "", "the template failed: "+describe(err), fields)
		return
	}
	err = w.cfg.Sender.Send(ctx, Mail{MessageID: m.ID, TemplateType: m.TemplateType, To: m.Recipient, Rendered: r})
	if err == nil {
		w.settle(ctx, m, identity.Delivery{Status: identity.MessageSent, Subject: r.Subject}, fields)
		if w.cfg.Metrics != nil {
			w.cfg.Metrics.Sent()
		}
		return
	}
	if w.cfg.Metrics != nil {
		w.cfg.Metrics.Failed()
	}
	reason := describe(err)
	fields = append(fields, zap.Int("smtp_code", smtpCode(err)), zap.String("error", reason))
	switch {
	case Permanent(err):
		w.abandon(ctx, m, r.Subject, reason, fields)
	case m.SendCount > w.cfg.Retries:
		w.abandon(ctx, m, r.Subject, reason, fields)
	default:
		retryIn := w.backoff(m.SendCount)
		w.log.Info("courier: sending failed, will retry", append(fields, zap.Duration("retry_in", retryIn))...)
		w.settle(ctx, m, identity.Delivery{Status: identity.MessageQueued, RetryIn: retryIn, Subject: r.Subject, Error: reason}, fields)
	}
}

// abandon gives a message up, and logs it (never with the recipient or the
// body).
func (w *Worker) abandon(ctx context.Context, m *identity.Message, subject, reason string, fields []zap.Field) {
	w.log.Warn("courier: message abandoned", append(fields, zap.String("reason", reason))...)
	w.settle(ctx, m, identity.Delivery{Status: identity.MessageAbandoned, Subject: subject, Error: reason}, fields)
	if w.cfg.Metrics != nil {
		w.cfg.Metrics.Abandoned()
	}
}

// settle reports an outcome to the store. When the store cannot take it,
// the message stays claimed and is taken again after the lease.
func (w *Worker) settle(ctx context.Context, m *identity.Message, d identity.Delivery, fields []zap.Field) {
	if err := w.cfg.Store.SettleMessage(ctx, m.ID, d); err != nil {
		w.storeLog.Warn("courier: cannot record a delivery in the store; the message may be sent again",
			append(fields, zap.String("status", d.Status), zap.Error(err))...)
	}
}

// backoff is the delay before the attempt after the n-th.
func (w *Worker) backoff(n int) time.Duration {
	d := w.cfg.BackoffBase
	for i := 1; i < n && d < w.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, w.cfg.BackoffMax)
}
