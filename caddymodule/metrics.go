package caddymodule

import (
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/identity"
)

// The Prometheus counters of the flows, on Caddy's metrics registry. They
// are created once per process and registered on the registry of each
// config, so their values carry on across config reloads. Their labels take
// only the fixed words below (anything else counts as "other"): never ids
// or identifiers.
var (
	flowsCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "kratos",
		Name:      "flows_created_total",
		Help:      "Self-service flows created, by kind (login, registration, settings, profile) and type (browser, api).",
	}, []string{"kind", "type"})
	flowsSubmitted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "kratos",
		Name:      "flows_submitted_total",
		Help:      "Self-service flow submissions, by kind, type and result (success, invalid, refresh_required, expired, conflict, rejected).",
	}, []string{"kind", "type", "result"})
	logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "kratos",
		Name:      "logins_total",
		Help:      "Password logins, by result (success, refresh, invalid_credentials).",
	}, []string{"result"})
	sessionsIssued = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "kratos",
		Name:      "sessions_issued_total",
		Help:      "Sessions issued by logins and registrations.",
	})
	sessionsRevoked = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "kratos",
		Name:      "sessions_revoked_total",
		Help:      "Sessions revoked (logout, password change, admin).",
	})
)

// The label values the counters take.
var (
	metricKinds         = []string{identity.KindLogin, identity.KindRegistration, identity.KindSettings, identity.KindProfile}
	metricTypes         = []string{identity.TypeBrowser, identity.TypeAPI}
	metricSubmitResults = []string{"success", "invalid", "refresh_required", "expired", "conflict", "rejected", "held", "cancelled"}
	metricLoginResults  = []string{"success", "refresh", "invalid_credentials"}
)

// otherLabel stands for a label value outside the fixed set.
const otherLabel = "other"

// label is v when it is one of the allowed values, else "other".
func label(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return otherLabel
}

// promMetrics counts the service's events (flows.Metrics) in Prometheus.
type promMetrics struct {
	created, submitted, logins *prometheus.CounterVec
	issued, revoked            prometheus.Counter
}

// newMetrics registers the counters on reg, tolerating counters already
// registered there (several kratos handlers in one config), and returns the
// flows.Metrics that counts in them. With no reg, or when a counter
// cannot be registered, it still counts, in the unregistered counter; the
// error says which.
func newMetrics(reg *prometheus.Registry) (*promMetrics, error) {
	m := &promMetrics{created: flowsCreated, submitted: flowsSubmitted, logins: logins, issued: sessionsIssued, revoked: sessionsRevoked}
	if reg == nil {
		return m, nil
	}
	errs := []error{
		register(reg, &m.created),
		register(reg, &m.submitted),
		register(reg, &m.logins),
		register(reg, &m.issued),
		register(reg, &m.revoked),
	}
	return m, errors.Join(errs...)
}

// register registers *c on reg. When an equal collector is registered
// already, *c becomes that one, so every handler counts in the collector the
// registry reports.
func register[C prometheus.Collector](reg prometheus.Registerer, c *C) error {
	err := reg.Register(*c)
	if err == nil {
		return nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			*c = existing
			return nil
		}
	}
	return fmt.Errorf("registering metric: %w", err)
}

func (m *promMetrics) FlowCreated(kind, typ string) {
	m.created.WithLabelValues(label(kind, metricKinds), label(typ, metricTypes)).Inc()
}

func (m *promMetrics) FlowSubmitted(kind, typ, result string) {
	m.submitted.WithLabelValues(label(kind, metricKinds), label(typ, metricTypes), label(result, metricSubmitResults)).Inc()
}

func (m *promMetrics) Login(result string) {
	m.logins.WithLabelValues(label(result, metricLoginResults)).Inc()
}

func (m *promMetrics) SessionIssued()  { m.issued.Inc() }
func (m *promMetrics) SessionRevoked() { m.revoked.Inc() }

var _ flows.Metrics = (*promMetrics)(nil)
