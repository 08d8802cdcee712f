package identity

import (
	"context"
	"errors"
	"time"
)

// Errors of Codes.UseCode (test with errors.Is).
var (
	// ErrCodeInvalid: no code of the flow matches (wrong, or none sent).
	ErrCodeInvalid = errors.New("the code is invalid")
	// ErrCodeUsed: the code matches but was used already.
	ErrCodeUsed = errors.New("the code was already used")
	// ErrCodeExpired: the code matches but expired.
	ErrCodeExpired = errors.New("the code expired")
	// ErrCodeTooManySubmits: the flow had more code submissions than
	// allowed, right or wrong; it must be started again.
	ErrCodeTooManySubmits = errors.New("too many code submissions")
)

// Code is the one-time code of a verification or recovery flow as it is
// stored: never the code itself, only its keyed hash (package codes). A
// flow has at most one code; sending a new one replaces it. A code sent for
// an address nobody has is stored too, without an identity and with a hash
// nothing matches, so that a known and an unknown address cost the same.
type Code struct {
	FlowID     string    `json:"flow_id"`
	IdentityID string    `json:"identity_id,omitempty"` // "" for an unknown address
	Address    string    `json:"address,omitempty"`     // the address it was sent to
	Hash       string    `json:"hash"`
	ExpiresAt  time.Time `json:"expires_at"`
	Used       bool      `json:"used,omitempty"`
}

// Codes keeps the one-time codes of verification and recovery flows and
// counts the code submissions of each flow.
type Codes interface {
	// SaveCode stores the flow's code, replacing any earlier code of the
	// flow; the flow's count of submissions stays. The record is kept
	// until keepUntil.
	SaveCode(ctx context.Context, c *Code, keepUntil time.Time) error
	// UseCode counts one code submission to the flow (kept until
	// keepUntil, also when the flow has no code) and, within maxSubmits
	// submissions, checks the submitted code's hashes (one per key in
	// use): the code whose hash is among them is marked used and returned.
	// The errors are ErrCodeTooManySubmits, ErrCodeInvalid,
	// ErrCodeExpired (at now) and ErrCodeUsed, in that order of checking.
	UseCode(ctx context.Context, flowID string, hashes []string, now, keepUntil time.Time, maxSubmits int) (*Code, error)
	// CodeKey returns the key codes are hashed with when the site
	// configures none: random, made by the first instance that asks and
	// then shared by every instance on the store.
	CodeKey(ctx context.Context) ([]byte, error)
}
