package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Token prefixes, as Kratos names them.
const (
	SessionTokenPrefix = "ory_st_"
	LogoutTokenPrefix  = "ory_lo_"
)

// routingKeyLen is the length of a routing key: four hex digits.
const routingKeyLen = 4

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RoutingKey returns the routing key of a record id or token: the four
// characters that every record of one identity shares. An identity's routing
// key is the start of its UUID; its session ids and settings flow ids start
// with the same four hex digits, and its session tokens carry them right after
// the "ory_st_" prefix. Stores may use it to place an identity's records
// together (the Redis store uses it as the hash tag); nothing else reads it.
func RoutingKey(idOrToken string) string {
	s := strings.TrimPrefix(idOrToken, SessionTokenPrefix)
	if len(s) < routingKeyLen {
		return s
	}
	return s[:routingKeyLen]
}

// NewID returns a random UUIDv4.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// NewIDFor returns a random UUIDv4 that shares the routing key of the
// identity with id identityID.
func NewIDFor(identityID string) string {
	id := NewID()
	if len(identityID) < routingKeyLen {
		return id
	}
	return identityID[:routingKeyLen] + id[routingKeyLen:]
}

// NewSessionToken returns a new session token for the identity with id
// identityID: "ory_st_" and 32 alphanumerics, the first four of which are the
// identity's routing key.
func NewSessionToken(identityID string) string {
	return SessionTokenPrefix + RoutingKey(identityID) + randomString(32-routingKeyLen)
}

// LogoutToken returns the logout token of the session with this session
// token: "ory_lo_" and 32 hex digits of a hash of the session token. It is
// derived, not stored, so asking for a logout URL writes nothing and every
// URL handed out stays valid until the session ends; only a holder of the
// session token can know it, which is what stops a cross-site logout.
func LogoutToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("caddy-kratos logout\x00" + sessionToken))
	return LogoutTokenPrefix + hex.EncodeToString(sum[:16])
}

// HashToken returns the hex SHA-256 of a token, the form a store keeps.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// randomString returns n characters drawn uniformly from alphanumerics.
func randomString(n int) string {
	out := make([]byte, n)
	buf := make([]byte, n*2)
	for i := 0; i < n; {
		_, _ = rand.Read(buf)
		for _, c := range buf {
			// 62*4 = 248: reject bytes >= 248 to keep the draw uniform.
			if c >= 248 {
				continue
			}
			out[i] = alphanumerics[c%62]
			i++
			if i == n {
				break
			}
		}
	}
	return string(out)
}
