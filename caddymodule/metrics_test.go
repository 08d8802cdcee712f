package caddymodule

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value is the value of a counter. (prometheus/testutil would need a
// go.mod change for its diff dependency.)
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// counts reads the value of every series of the kratos counters on reg,
// keyed "name{label values}".
func counts(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "caddy_kratos_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}

// delta is after minus before, for every series that moved.
func delta(before, after map[string]float64) map[string]float64 {
	d := make(map[string]float64)
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	before := counts(t, reg)
	m.FlowCreated("login", "browser")
	m.FlowCreated("login", "browser")
	m.FlowCreated("settings", "api")
	m.FlowSubmitted("registration", "browser", "invalid")
	m.FlowSubmitted("settings", "api", "refresh_required")
	m.Login("success")
	m.Login("invalid_credentials")
	m.SessionIssued()
	m.SessionRevoked()
	m.SessionRevoked()
	// Anything outside the fixed words is "other": never an id or identifier.
	m.FlowCreated("a3f1c2d4-0000-4000-8000-000000000000", "browser")
	m.Login("alice@example.com")

	want := map[string]float64{
		"caddy_kratos_flows_created_total{kind=login,type=browser}":                          2,
		"caddy_kratos_flows_created_total{kind=settings,type=api}":                           1,
		"caddy_kratos_flows_created_total{kind=other,type=browser}":                          1,
		"caddy_kratos_flows_submitted_total{kind=registration,result=invalid,type=browser}":  1,
		"caddy_kratos_flows_submitted_total{kind=settings,result=refresh_required,type=api}": 1,
		"caddy_kratos_logins_total{result=success}":                                          1,
		"caddy_kratos_logins_total{result=invalid_credentials}":                              1,
		"caddy_kratos_logins_total{result=other}":                                            1,
		"caddy_kratos_sessions_issued_total{}":                                               1,
		"caddy_kratos_sessions_revoked_total{}":                                              2,
	}
	got := delta(before, counts(t, reg))
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s moved by %v, want %v", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s moved by %v unexpectedly", k, v)
		}
	}
}

func TestMetricsRegisterAgain(t *testing.T) {
	// Two handlers of one config share the registry; a reload brings a new
	// one. The counts carry on in both cases.
	reg := prometheus.NewPedanticRegistry()
	first, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := newMetrics(reg)
	if err != nil {
		t.Fatalf("registering on the same registry again: %v", err)
	}
	reloaded := prometheus.NewPedanticRegistry()
	third, err := newMetrics(reloaded)
	if err != nil {
		t.Fatal(err)
	}
	before := value(t, sessionsIssued)
	first.SessionIssued()
	second.SessionIssued()
	third.SessionIssued()
	if got := value(t, sessionsIssued) - before; got != 3 {
		t.Errorf("sessions issued moved by %v, want 3", got)
	}
	if c := counts(t, reloaded)["caddy_kratos_sessions_issued_total{}"]; c != value(t, sessionsIssued) {
		t.Errorf("the new registry shows %v, want the running total %v", c, value(t, sessionsIssued))
	}
}

func TestMetricsConflictStillCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "caddy_kratos_logins_total", Help: "someone else's"}))
	m, err := newMetrics(reg)
	if err == nil || !strings.Contains(err.Error(), "registering metric") {
		t.Errorf("got %v, want an error about the conflicting metric", err)
	}
	before := value(t, logins.WithLabelValues("success"))
	m.Login("success")
	if got := value(t, logins.WithLabelValues("success")) - before; got != 1 {
		t.Errorf("login not counted after a failed registration (%v)", got)
	}
	if _, err := newMetrics(nil); err != nil {
		t.Errorf("no registry: %v", err)
	}
}

func TestProvisionRegistersMetrics(t *testing.T) {
	watchMemoryStores(t)
	ctx := caddyContext(t)
	h := &Handler{IdentitySchema: writeSchema(t)}
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	if _, ok := counts(t, ctx.GetMetricsRegistry())["caddy_kratos_sessions_issued_total{}"]; !ok {
		t.Error("the counters are not on the config's metrics registry")
	}
}
