package identity

import (
	"encoding/json"
	"time"
)

// Flow kinds: which self-service flow a Flow belongs to.
const (
	KindLogin        = "login"
	KindRegistration = "registration"
	KindSettings     = "settings"
	// KindProfile is the legacy profile-management request (Kratos v0.1).
	KindProfile = "profile"
	// KindError holds an error shown by the error UI.
	KindError = "error"
	// KindVerification and KindRecovery are the flows of the code method.
	KindVerification = "verification"
	KindRecovery     = "recovery"
)

// Flow types: who drives the flow.
const (
	TypeBrowser = "browser"
	TypeAPI     = "api"
)

// Flow states. Settings flows (and legacy profile requests) go from
// show_form to success; login and registration flows, whose only method is
// the password, stay in choose_method, as Kratos' do. Kratos knows more
// states, for methods these flows do not have.
const (
	StateShowForm     = "show_form"
	StateSuccess      = "success"
	StateChooseMethod = "choose_method"
	// Verification and recovery flows go from choose_method to sent_email
	// (a code was sent, or pretended to be) to passed_challenge.
	StateSentEmail       = "sent_email"
	StatePassedChallenge = "passed_challenge"
)

// Flow is one self-service flow (or legacy request) as it is stored.
type Flow struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Type       string    `json:"type"`
	State      string    `json:"state"`
	IssuedAt   time.Time `json:"issued_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	RequestURL string    `json:"request_url"`
	ReturnTo   string    `json:"return_to,omitempty"`
	// Active is the method last used on the flow ("profile", "password").
	Active string `json:"active,omitempty"`

	// IdentityID owns a settings or profile flow; empty for login and
	// registration flows.
	IdentityID string `json:"identity_id,omitempty"`
	// IdentityVersion is the identity version the form was built from; a
	// submit against an older version than the stored one is a conflict.
	IdentityVersion int64 `json:"identity_version,omitempty"`
	// CSRFTokenHash binds a browser flow to the browser's CSRF cookie.
	CSRFTokenHash string `json:"csrf_token_hash,omitempty"`
	// Refresh marks a login flow that re-authenticates the current session.
	Refresh bool `json:"refresh,omitempty"`
	// ByAdmin marks a recovery flow made by the admin API's recovery code:
	// it is bound to no browser, so neither fetch nor submit checks CSRF.
	ByAdmin bool `json:"by_admin,omitempty"`
	// Paused names what a settings change waiting for a re-authentication
	// changes: "password", or the dotted names of the protected traits
	// ("traits.email"). The re-authentication page says so.
	Paused []string `json:"paused,omitempty"`

	UI UI `json:"ui,omitzero"`

	// Error is the stored error of a flow of kind "error" (the error UI's
	// GET /self-service/errors?id=).
	Error json.RawMessage `json:"error,omitempty"`

	// FormTraits, on a stored settings flow without UI.Nodes, are the
	// traits (JSON) its form shows: the form is built again from them
	// when the flow is read, instead of being stored (flows/storedforms.go).
	FormTraits json.RawMessage `json:"form_traits,omitempty"`
}

// Expired reports whether the flow is past its expiry at time now.
func (f *Flow) Expired(now time.Time) bool {
	return !now.Before(f.ExpiresAt)
}
