// Package wire builds the Kratos v1 JSON forms of the stored records, per
// response, so that credentials and internal fields never leave by
// accident: identities (public and admin), sessions and flows.
package wire

import (
	"encoding/json"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// Wire forms (Kratos v1) of the stored records. They are built per response
// so that credentials and internal fields never leave by accident.

type Identity struct {
	ID                  string                       `json:"id"`
	SchemaID            string                       `json:"schema_id"`
	SchemaURL           string                       `json:"schema_url"`
	State               string                       `json:"state"`
	StateChangedAt      *time.Time                   `json:"state_changed_at,omitempty"`
	Traits              map[string]any               `json:"traits"`
	VerifiableAddresses []identity.VerifiableAddress `json:"verifiable_addresses"`
	RecoveryAddresses   []identity.RecoveryAddress   `json:"recovery_addresses"`
	MetadataPublic      json.RawMessage              `json:"metadata_public"`
	MetadataAdmin       json.RawMessage              `json:"metadata_admin,omitempty"`
	Credentials         map[string]Credential        `json:"credentials,omitempty"`
	CreatedAt           time.Time                    `json:"created_at"`
	UpdatedAt           time.Time                    `json:"updated_at"`
}

type Credential struct {
	Type        string    `json:"type"`
	Identifiers []string  `json:"identifiers"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// NewIdentity is the public wire form of an identity; admin adds the admin
// metadata and the credentials' identifiers (never the hash). schemaURL is
// where its schema is served.
func NewIdentity(id *identity.Identity, schemaURL string, admin bool) *Identity {
	out := &Identity{
		ID: id.ID, SchemaID: id.SchemaID, SchemaURL: schemaURL, State: id.State,
		Traits: id.Traits, VerifiableAddresses: id.VerifiableAddresses, RecoveryAddresses: id.RecoveryAddresses,
		MetadataPublic: id.MetadataPublic, CreatedAt: id.CreatedAt, UpdatedAt: id.UpdatedAt,
	}
	if out.Traits == nil {
		out.Traits = map[string]any{}
	}
	if out.VerifiableAddresses == nil {
		out.VerifiableAddresses = []identity.VerifiableAddress{}
	}
	if out.RecoveryAddresses == nil {
		out.RecoveryAddresses = []identity.RecoveryAddress{}
	}
	if len(out.MetadataPublic) == 0 {
		out.MetadataPublic = json.RawMessage("null")
	}
	if !id.StateChangedAt.IsZero() {
		t := id.StateChangedAt
		out.StateChangedAt = &t
	}
	if admin {
		out.MetadataAdmin = id.MetadataAdmin
		if len(out.MetadataAdmin) == 0 {
			out.MetadataAdmin = json.RawMessage("null")
		}
		out.Credentials = map[string]Credential{}
		if p := id.Password; p != nil {
			out.Credentials["password"] = Credential{Type: "password", Identifiers: p.Identifiers, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
		}
	}
	return out
}

type Session struct {
	ID                    string                          `json:"id"`
	Active                bool                            `json:"active"`
	ExpiresAt             time.Time                       `json:"expires_at"`
	AuthenticatedAt       time.Time                       `json:"authenticated_at"`
	AAL                   string                          `json:"authenticator_assurance_level"`
	AuthenticationMethods []identity.AuthenticationMethod `json:"authentication_methods"`
	IssuedAt              time.Time                       `json:"issued_at"`
	Identity              *Identity                       `json:"identity,omitempty"`
	Devices               []identity.Device               `json:"devices"`
	// Privileged and PrivilegedUntil go beyond Kratos (its issue #2633):
	// whether protected changes are allowed now without re-authenticating.
	Privileged      bool      `json:"privileged"`
	PrivilegedUntil time.Time `json:"privileged_until"`
}

// NewSession is the wire form of a session at time now, with its identity
// when id is not nil; privilegedMaxAge decides its privileged fields.
func NewSession(sess *identity.Session, id *identity.Identity, schemaURL string, now time.Time, privilegedMaxAge time.Duration, admin bool) *Session {
	out := &Session{
		ID: sess.ID, Active: sess.IsActive(now) && id != nil && id.State == identity.IdentityActive,
		ExpiresAt: sess.ExpiresAt, AuthenticatedAt: sess.AuthenticatedAt, AAL: sess.AAL,
		AuthenticationMethods: sess.AuthenticationMethods, IssuedAt: sess.IssuedAt, Devices: sess.Devices,
		Privileged:      sess.IsPrivileged(now, privilegedMaxAge),
		PrivilegedUntil: sess.PrivilegedUntil(privilegedMaxAge),
	}
	if out.AuthenticationMethods == nil {
		out.AuthenticationMethods = []identity.AuthenticationMethod{}
	}
	if out.Devices == nil {
		out.Devices = []identity.Device{}
	}
	if id != nil {
		out.Identity = NewIdentity(id, schemaURL, admin)
	}
	return out
}

// ContinueWith is one item of a flow's continue_with list.
type ContinueWith struct {
	Action            string            `json:"action"`
	RedirectBrowserTo string            `json:"redirect_browser_to,omitempty"`
	OrySessionToken   string            `json:"ory_session_token,omitempty"`
	Flow              *ContinueWithFlow `json:"flow,omitempty"`
}

// ContinueWithFlow is the flow a show_verification_ui or show_settings_ui
// item points at; URL only for browser flows.
type ContinueWithFlow struct {
	ID                string `json:"id"`
	VerifiableAddress string `json:"verifiable_address,omitempty"`
	URL               string `json:"url,omitempty"`
}

// flowJSON is the Kratos v1 wire form of login, registration and settings
// flows; fields a kind does not have are left out.
type Flow struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	ExpiresAt    time.Time      `json:"expires_at"`
	IssuedAt     time.Time      `json:"issued_at"`
	CreatedAt    *time.Time     `json:"created_at,omitempty"`
	UpdatedAt    *time.Time     `json:"updated_at,omitempty"`
	RequestURL   string         `json:"request_url"`
	ReturnTo     string         `json:"return_to,omitempty"`
	Active       string         `json:"active,omitempty"`
	UI           UI             `json:"ui"`
	Identity     *Identity      `json:"identity,omitempty"`
	Refresh      *bool          `json:"refresh,omitempty"`
	RequestedAAL string         `json:"requested_aal,omitempty"`
	State        string         `json:"state"`
	ContinueWith []ContinueWith `json:"continue_with,omitempty"`
}

// NewFlow is the wire form of a login, registration or settings flow
// showing the form ui, with the identity of a settings flow when id is not
// nil.
func NewFlow(f *identity.Flow, ui *identity.UI, id *identity.Identity, schemaURL string) *Flow {
	out := &Flow{
		ID: f.ID, Type: f.Type, ExpiresAt: f.ExpiresAt, IssuedAt: f.IssuedAt, RequestURL: f.RequestURL,
		ReturnTo: f.ReturnTo, Active: f.Active, UI: NewUI(ui), State: f.State,
	}
	if f.Kind == identity.KindLogin {
		created, updated := f.IssuedAt, f.UpdatedAt
		out.CreatedAt, out.UpdatedAt = &created, &updated
		refresh := f.Refresh
		out.Refresh = &refresh
		out.RequestedAAL = identity.AAL1
	}
	if id != nil {
		out.Identity = NewIdentity(id, schemaURL, false)
	}
	return out
}
