package identity

import "time"

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

// Device is the client a session was issued to.
type Device struct {
	ID        string `json:"id"`
	IPAddress string `json:"ip_address,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
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
