package identity

import (
	"encoding/json"
	"time"
)

// Identity states.
const (
	IdentityActive   = "active"
	IdentityInactive = "inactive"
)

// Identity is a user as it is stored. Its JSON form is the store's record; the
// wire forms (Kratos v1 and the legacy API) are built from it elsewhere, so
// credentials never leave through an API by accident.
type Identity struct {
	ID             string          `json:"id"`
	SchemaID       string          `json:"schema_id"`
	State          string          `json:"state"`
	StateChangedAt time.Time       `json:"state_changed_at"`
	Traits         map[string]any  `json:"traits"`
	MetadataPublic json.RawMessage `json:"metadata_public,omitempty"`
	MetadataAdmin  json.RawMessage `json:"metadata_admin,omitempty"`

	VerifiableAddresses []VerifiableAddress `json:"verifiable_addresses"`
	RecoveryAddresses   []RecoveryAddress   `json:"recovery_addresses"`

	// Password is nil for an identity without a password credential.
	Password *PasswordCredential `json:"password,omitempty"`

	// PendingChange is a change of a verifiable address waiting for the
	// code sent to the new address (nil: none). The identity keeps its
	// current traits, addresses and identifiers until the code is entered.
	PendingChange *PendingChange `json:"pending_change,omitempty"`

	// Version counts the writes to this identity, starting at 1. A write that
	// was prepared against an older version fails with ErrVersionConflict.
	Version int64 `json:"version"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PasswordCredential is the identity's password credential.
type PasswordCredential struct {
	// Identifiers are the login identifiers, normalised by the schema
	// (schema.NormalizeIdentifier: for plain ASCII, lower-cased) and sorted.
	// They are unique across all identities.
	Identifiers []string `json:"identifiers"`
	// HashedPassword is a bcrypt or argon2id hash in its usual text form.
	HashedPassword string    `json:"hashed_password,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// VerifiableAddress is an address the identity can be verified through.
type VerifiableAddress struct {
	ID         string     `json:"id"`
	Value      string     `json:"value"`
	Verified   bool       `json:"verified"`
	Via        string     `json:"via"`
	Status     string     `json:"status"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// RecoveryAddress is an address the identity can recover its account through.
type RecoveryAddress struct {
	ID        string    `json:"id"`
	Value     string    `json:"value"`
	Via       string    `json:"via"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Identifiers returns the identity's login identifiers (nil without a password).
func (i *Identity) Identifiers() []string {
	if i == nil || i.Password == nil {
		return nil
	}
	return i.Password.Identifiers
}

// PendingChange is a settings change that replaces a verifiable address,
// held until the new address is verified (Kratos master's pending traits
// change). It travels with the identity record, so holding and applying it
// are ordinary identity writes with the version check.
type PendingChange struct {
	// Traits are the proposed traits: the whole submission, the new
	// address and any other trait edited with it.
	Traits map[string]any `json:"traits"`
	// Address is the new address; Previous the addresses it replaces.
	Address  string   `json:"address"`
	Previous []string `json:"previous,omitempty"`
	// SessionID is the session that asked; the change is dropped when it
	// is no longer active. SettingsFlowID and VerificationFlowID are the
	// flows it came from and is verified through.
	SessionID          string `json:"session_id"`
	SettingsFlowID     string `json:"settings_flow_id"`
	VerificationFlowID string `json:"verification_flow_id"`
	// TraitsHash is the SHA-256 (hex) of the traits the change was based
	// on: a change of the identity since then makes it stale.
	TraitsHash string    `json:"traits_hash"`
	CreatedAt  time.Time `json:"created_at"`
}
