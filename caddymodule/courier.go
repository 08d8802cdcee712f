package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/courier"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/locale"
)

// CourierConfig configures the courier: the mail that flows queue
// (verification and recovery codes, notices) is sent by a background worker
// in each Caddy instance, one per store.
type CourierConfig struct {
	// SMTP is the mail server: smtp://[user:pass@]host[:port] (port 587;
	// STARTTLS whenever the server offers it, plain text only toward one
	// that offers none, such as a local relay) or smtps://… (port 465,
	// implicit TLS); ?skip_ssl_verify=true accepts any certificate.
	// Placeholders such as {env.SMTP_URI} are expanded.
	SMTP string `json:"smtp,omitempty"`

	// From is the sender: "Example <no-reply@example.com>". Required with
	// smtp.
	From string `json:"from,omitempty"`

	// Templates is a directory of templates that replace the built-in
	// ones, laid out like Kratos':
	// <template>/<valid|invalid>/email.subject.gotmpl,
	// email.body.gotmpl (HTML), email.body.plaintext.gotmpl.
	Templates string `json:"templates,omitempty"`

	// Mailbox sends nothing: mails are kept in memory and shown on the
	// admin listener at /mailbox, and the admin API shows message bodies.
	// For development and demos only; instead of smtp.
	Mailbox bool `json:"mailbox,omitempty"`

	// Retries is how often a failed mail is tried again (with backoff:
	// 1s, 2s, 4s…) before it is abandoned. Default: 5.
	Retries *int `json:"retries,omitempty"`
}

// validate checks the courier config; errors say what to do.
func (c *CourierConfig) validate() error {
	switch {
	case c == nil:
		return nil
	case c.SMTP == "" && !c.Mailbox:
		return fmt.Errorf("courier: expected 'smtp <uri>' (with 'from') or, for development, 'mailbox'")
	case c.SMTP != "" && c.Mailbox:
		return fmt.Errorf("courier: 'smtp' and 'mailbox' exclude each other; mailbox keeps mail instead of sending it")
	case c.Retries != nil && *c.Retries < 0:
		return fmt.Errorf("courier: retries must be 0 or more, got %d", *c.Retries)
	}
	if c.SMTP != "" {
		if _, err := courier.NewSMTP(c.SMTP, c.From); err != nil {
			return fmt.Errorf("courier: %w", err)
		}
	}
	return nil
}

// couriers holds the running workers, one per store and courier config,
// shared across handlers and config reloads: a reload with the same config
// keeps its worker, a changed config starts a new one before the old one
// stops (claims keep the two from sending a mail twice).
var couriers = caddy.NewUsagePool()

// mailboxes are the development mailboxes by store pool key, for the admin
// API of the same store.
var (
	mailboxesMu sync.Mutex
	mailboxes   = map[string]*courier.Mailbox{}
)

// mailboxFor returns the development mailbox of a store, or nil.
func mailboxFor(storeKey string) *courier.Mailbox {
	mailboxesMu.Lock()
	defer mailboxesMu.Unlock()
	return mailboxes[storeKey]
}

// runningCourier is a worker in the pool.
type runningCourier struct {
	worker   *courier.Worker
	storeKey string
	mailbox  *courier.Mailbox
}

// Destruct stops the worker when its last handler has gone.
func (r *runningCourier) Destruct() error {
	r.worker.Stop()
	if r.mailbox != nil {
		mailboxesMu.Lock()
		if mailboxes[r.storeKey] == r.mailbox {
			delete(mailboxes, r.storeKey)
		}
		mailboxesMu.Unlock()
	}
	return nil
}

// startCourier starts (or joins) the worker of this handler's store and
// courier config; the handler holds it until Cleanup.
func (h *Handler) startCourier(ctx caddy.Context, store identity.Store, langs *locale.Catalog) error {
	c := h.Courier
	if c == nil {
		return nil
	}
	repl := caddy.NewReplacer()
	c.SMTP = repl.ReplaceKnown(c.SMTP, "")
	c.From = repl.ReplaceKnown(c.From, "")
	c.Templates = repl.ReplaceKnown(c.Templates, "")
	if err := c.validate(); err != nil {
		return err
	}
	templates, err := courier.LoadTemplates(c.Templates, langs)
	if err != nil {
		return fmt.Errorf("courier: %w", err)
	}
	metrics, err := newCourierMetrics(ctx.GetMetricsRegistry())
	if err != nil {
		h.logger.Warn("courier metrics not registered", zap.Error(err))
	}
	cfgJSON, _ := json.Marshal(c)
	key := h.poolKey + "|" + string(cfgJSON)
	_, _, err = couriers.LoadOrNew(key, func() (caddy.Destructor, error) {
		var sender courier.Sender
		var box *courier.Mailbox
		if c.Mailbox {
			box = courier.NewMailbox(clockNow)
			sender = box
		} else if sender, err = courier.NewSMTP(c.SMTP, c.From); err != nil {
			return nil, err
		}
		retries := 0
		if c.Retries != nil {
			retries = *c.Retries
			if retries == 0 {
				retries = -1 // none
			}
		}
		w, err := courier.Start(courier.Config{
			Store: store, Sender: sender, Templates: templates, Logger: h.logger.Named("courier"),
			Metrics: metrics, Retries: retries,
		})
		if err != nil {
			return nil, err
		}
		if box != nil {
			mailboxesMu.Lock()
			mailboxes[h.poolKey] = box
			mailboxesMu.Unlock()
		}
		return &runningCourier{worker: w, storeKey: h.poolKey, mailbox: box}, nil
	})
	if err != nil {
		return fmt.Errorf("courier: %w", err)
	}
	h.courierKey = key
	return nil
}

// stopCourier lets go of the handler's worker; the last handler to let go
// stops it.
func (h *Handler) stopCourier() error {
	if h.courierKey == "" {
		return nil
	}
	key := h.courierKey
	h.courierKey = ""
	_, err := couriers.Delete(key)
	return err
}

// parseCourier reads the courier block:
//
//	courier {
//		smtp      <smtp:// or smtps:// URI>
//		from      "<name> <address>"
//		templates <directory>
//		mailbox
//		retries   <n>
//	}
func parseCourier(d *caddyfile.Dispenser) (*CourierConfig, error) {
	if d.NextArg() {
		return nil, d.Errf("courier: expected a block { smtp … }, not arguments")
	}
	c := &CourierConfig{}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] {
			return nil, d.Errf("courier: '%s' given twice", opt)
		}
		seen[opt] = true
		var err error
		switch opt {
		case "smtp":
			c.SMTP, err = oneArg(d)
		case "from":
			c.From, err = oneArg(d)
		case "templates":
			c.Templates, err = oneArg(d)
		case "mailbox":
			c.Mailbox, err = true, noArgs(d)
		case "retries":
			var s string
			if s, err = oneArg(d); err == nil {
				n, convErr := strconv.Atoi(s)
				if convErr != nil || n < 0 {
					return nil, d.Errf("courier retries: expected a number (0 or more), got '%s'", s)
				}
				c.Retries = &n
			}
		default:
			return nil, d.Errf("unrecognized courier option '%s'; expected smtp, from, templates, mailbox or retries", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	if c.SMTP == "" && !c.Mailbox {
		return nil, d.Errf("courier: expected 'smtp <uri>' (with 'from') or, for development, 'mailbox'")
	}
	return c, nil
}

// The courier's Prometheus metrics, on Caddy's registry like the others
// (metrics.go).
var (
	courierSent = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "kratos", Name: "courier_messages_sent_total",
		Help: "Mails the mail server accepted.",
	})
	courierFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "kratos", Name: "courier_messages_failed_total",
		Help: "Delivery attempts that failed (retried or abandoned).",
	})
	courierAbandoned = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "kratos", Name: "courier_messages_abandoned_total",
		Help: "Mails given up after their retries or a permanent refusal.",
	})
	courierQueued = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "kratos", Name: "courier_messages_queued",
		Help: "Mails waiting to be sent, as the worker last counted them (every 15s).",
	})
)

// courierMetrics counts the worker's events (courier.Metrics).
type courierMetrics struct {
	sent, failed, abandoned prometheus.Counter
	queued                  prometheus.Gauge
}

func newCourierMetrics(reg *prometheus.Registry) (*courierMetrics, error) {
	m := &courierMetrics{sent: courierSent, failed: courierFailed, abandoned: courierAbandoned, queued: courierQueued}
	if reg == nil {
		return m, nil
	}
	return m, errors.Join(register(reg, &m.sent), register(reg, &m.failed), register(reg, &m.abandoned), register(reg, &m.queued))
}

func (m *courierMetrics) Sent()         { m.sent.Inc() }
func (m *courierMetrics) Failed()       { m.failed.Inc() }
func (m *courierMetrics) Abandoned()    { m.abandoned.Inc() }
func (m *courierMetrics) Backlog(n int) { m.queued.Set(float64(n)) }

var _ courier.Metrics = (*courierMetrics)(nil)
