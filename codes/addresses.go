package codes

import (
	"strings"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// Verifiable address statuses, as Kratos names them.
const (
	StatusPending   = "pending"   // the address appeared; nothing was sent
	StatusSent      = "sent"      // a verification code was sent to it
	StatusCompleted = "completed" // a code sent to it was entered
)

// ViaEmail is the only channel addresses have here.
const ViaEmail = "email"

// Normalize is how addresses are compared: trimmed and lower-cased, as
// Kratos does for email addresses.
func Normalize(address string) string {
	return strings.ToLower(strings.TrimSpace(address))
}

// VerifiableAddress returns the identity's verifiable email address equal
// to address (normalised), or nil.
func VerifiableAddress(id *identity.Identity, address string) *identity.VerifiableAddress {
	if id == nil {
		return nil
	}
	address = Normalize(address)
	for i := range id.VerifiableAddresses {
		a := &id.VerifiableAddresses[i]
		if a.Via == ViaEmail && Normalize(a.Value) == address {
			return a
		}
	}
	return nil
}

// HasRecoveryAddress reports whether address (normalised) is one of the
// identity's recovery email addresses.
func HasRecoveryAddress(id *identity.Identity, address string) bool {
	if id == nil {
		return false
	}
	address = Normalize(address)
	for _, a := range id.RecoveryAddresses {
		if a.Via == ViaEmail && Normalize(a.Value) == address {
			return true
		}
	}
	return false
}

// MarkSent records that a verification code went to the address: its
// status becomes sent (a verified address stays completed). It reports
// whether the identity changed.
func MarkSent(id *identity.Identity, address string, now time.Time) bool {
	a := VerifiableAddress(id, address)
	if a == nil || a.Status == StatusSent || a.Verified {
		return false
	}
	a.Status, a.UpdatedAt = StatusSent, now
	return true
}

// MarkVerified records that a code sent to the address was entered: it is
// verified (completed, verified_at now). It reports whether the identity
// changed (an address verified before keeps its verified_at).
func MarkVerified(id *identity.Identity, address string, now time.Time) bool {
	a := VerifiableAddress(id, address)
	if a == nil || (a.Verified && a.Status == StatusCompleted) {
		return false
	}
	at := now
	a.Verified, a.Status, a.VerifiedAt, a.UpdatedAt = true, StatusCompleted, &at, now
	return true
}

// Unverified are the identity's verifiable email addresses not verified
// yet, the ones a new account is sent codes for.
func Unverified(id *identity.Identity) []string {
	var out []string
	for _, a := range id.VerifiableAddresses {
		if a.Via == ViaEmail && !a.Verified {
			out = append(out, a.Value)
		}
	}
	return out
}
