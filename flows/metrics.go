package flows

// Metrics receives the service's domain events, to be counted. Labels are
// of low cardinality only: flow kinds and types, and fixed result words;
// never ids or identifiers. The Caddy module counts them in Prometheus.
type Metrics interface {
	// FlowCreated: a flow of a kind (login, registration, settings,
	// profile) and type (browser, api) was created.
	FlowCreated(kind, typ string)
	// FlowSubmitted: a flow was submitted, with a result: "success",
	// "invalid" (form errors), "refresh_required", "expired", "conflict" or
	// "rejected" (CSRF, identity mismatch, bad request).
	FlowSubmitted(kind, typ, result string)
	// Login: a login ended with a result: "success", "refresh" (a refresh
	// login) or "invalid_credentials".
	Login(result string)
	// SessionIssued and SessionRevoked count sessions.
	SessionIssued()
	SessionRevoked()
}

// noMetrics is the Metrics of a Service configured without any.
type noMetrics struct{}

func (noMetrics) FlowCreated(string, string)           {}
func (noMetrics) FlowSubmitted(string, string, string) {}
func (noMetrics) Login(string)                         {}
func (noMetrics) SessionIssued()                       {}
func (noMetrics) SessionRevoked()                      {}
