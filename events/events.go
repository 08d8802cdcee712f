// Package events names what happens to identities and sessions that a site
// may want to act on (a welcome mail, an audit log, a CRM sync), and
// carries it to whoever listens: Caddy's event system and web hooks, both
// set up by the Caddy module. An event holds ids, flow and method names
// and the paths of changed traits, never a trait value, password, token or
// code.
package events

import (
	"context"
	"time"
)

// The events, by the name Caddy's event system gives them.
const (
	IdentityCreated = "kratos_identity_created" // registration, or the admin API
	IdentityUpdated = "kratos_identity_updated" // settings, profile or the admin API; Changed lists the trait paths
	IdentityDeleted = "kratos_identity_deleted" // the admin API
	LoginSucceeded  = "kratos_login_succeeded"
	LoginFailed     = "kratos_login_failed" // Reason: invalid_credentials or throttled
	SessionRevoked  = "kratos_session_revoked"
	PasswordChanged = "kratos_password_changed"
	RecoveryUsed    = "kratos_recovery_used"
	AddressVerified = "kratos_address_verified"
)

// Event is one thing that happened. Empty fields are left out of Data.
type Event struct {
	Name       string
	Time       time.Time
	IdentityID string
	SessionID  string
	// Flow is where it happened: login, registration, settings, profile
	// (the legacy API), logout, sessions (self-service session
	// management), recovery, verification or admin.
	Flow string
	// Method is the flow's method: password, profile.
	Method string
	// Changed lists the dotted paths of the traits an update changed
	// ("traits.name.first"), never their values.
	Changed []string
	// Reason says why a login failed or a session ended.
	Reason string
}

// Data is the event's fields for Caddy's event system and web hooks:
// identity_id, session_id, flow, method, changed and reason, those set.
func (e Event) Data() map[string]any {
	d := map[string]any{}
	for k, v := range map[string]string{"identity_id": e.IdentityID, "session_id": e.SessionID, "flow": e.Flow, "method": e.Method, "reason": e.Reason} {
		if v != "" {
			d[k] = v
		}
	}
	if e.Changed != nil {
		d["changed"] = e.Changed
	}
	return d
}

// Sink receives events. Emit must not block on anything slow: a request
// is waiting.
type Sink interface {
	Emit(ctx context.Context, e Event)
}

// Discard is a Sink that drops every event.
type Discard struct{}

func (Discard) Emit(context.Context, Event) {}

// Sinks sends each event to every sink in turn.
type Sinks []Sink

func (s Sinks) Emit(ctx context.Context, e Event) {
	for _, sink := range s {
		sink.Emit(ctx, e)
	}
}

// Gate may refuse what is about to happen, before it is stored: a
// blocking web hook. A *Refusal says why, in words for the user.
type Gate interface {
	Check(ctx context.Context, e Event) error
}

// Refusal is a Gate's no: Reason is shown to the user on the flow.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return r.Reason }

// Open is a Gate that refuses nothing.
type Open struct{}

func (Open) Check(context.Context, Event) error { return nil }
