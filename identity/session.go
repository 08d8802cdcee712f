package identity

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Authenticator assurance levels.
const (
	AAL1 = "aal1"
)

// Session is a signed-in identity as it is stored. The session token itself is
// never stored: the store keeps only TokenHash.
type Session struct {
	ID              string    `json:"id"`
	IdentityID      string    `json:"identity_id"`
	TokenHash       string    `json:"token_hash"`
	Active          bool      `json:"active"`
	IssuedAt        time.Time `json:"issued_at"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	AAL             string    `json:"authenticator_assurance_level"`

	AuthenticationMethods []AuthenticationMethod `json:"authentication_methods"`
	Devices               []Device               `json:"devices,omitempty"`
}

// AuthenticationMethod records one completed authentication of a session.
type AuthenticationMethod struct {
	Method      string    `json:"method"`
	AAL         string    `json:"aal"`
	CompletedAt time.Time `json:"completed_at"`
}

// Device is a client the session was used from: one is recorded each time
// the session is issued or re-authenticated. Location is "<city>, <country>"
// when a trusted proxy (Cloudflare) said so, else "".
type Device struct {
	ID        string `json:"id"`
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
	Location  string `json:"location"`
}

// SessionWithIdentity is a listed session and its identity.
type SessionWithIdentity struct {
	Session  *Session
	Identity *Identity
}

// maxCursorMillis is the largest issue time (unix ms) a cursor can order:
// the year 2286.
const maxCursorMillis = 9999999999999

// SessionCursor is where a session stands in the order of
// Sessions.ListAllSessions: its issue time inverted and zero-padded, then
// its id, so that the byte order of cursors is newest first (ties by id).
func SessionCursor(s *Session) string {
	ms := min(max(s.IssuedAt.UnixMilli(), 0), maxCursorMillis)
	return fmt.Sprintf("%013d:%s", maxCursorMillis-ms, s.ID)
}

// SessionCursorID is the session id of a cursor, "" when it is not one.
func SessionCursorID(cursor string) string {
	ms, id, ok := strings.Cut(cursor, ":")
	if !ok || len(ms) != 13 || strings.Trim(ms, "0123456789") != "" {
		return ""
	}
	return id
}

// SessionCursorIssuedAt is the issue time a cursor holds (unix ms).
func SessionCursorIssuedAt(cursor string) int64 {
	inv, err := strconv.ParseInt(cursor[:min(13, len(cursor))], 10, 64)
	if err != nil {
		return 0
	}
	return maxCursorMillis - inv
}

// IsActive reports whether the session can be used at time now.
func (s *Session) IsActive(now time.Time) bool {
	return s != nil && s.Active && now.Before(s.ExpiresAt)
}

// IsPrivileged reports whether the session authenticated recently enough, at
// time now, to make protected changes.
func (s *Session) IsPrivileged(now time.Time, maxAge time.Duration) bool {
	return s.IsActive(now) && now.Before(s.PrivilegedUntil(maxAge))
}

// PrivilegedUntil is the moment the session stops being privileged.
func (s *Session) PrivilegedUntil(maxAge time.Duration) time.Time {
	return s.AuthenticatedAt.Add(maxAge)
}
