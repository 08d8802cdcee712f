package identity

import (
	"strings"
)

// WellFormedID reports whether id looks like a UUID, so junk ids cost no
// store round trip.
func WellFormedID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, c := range id {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdef", c):
			return false
		}
	}
	return true
}

// WellFormedSessionToken reports whether t can be a session token, so malformed
// values cost no store round trip.
func WellFormedSessionToken(t string) bool {
	rest, ok := strings.CutPrefix(t, SessionTokenPrefix)
	if !ok || len(rest) != 32 {
		return false
	}
	for i := range len(rest) {
		if !strings.ContainsRune(alphanumerics, rune(rest[i])) {
			return false
		}
	}
	return true
}
