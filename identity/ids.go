package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"time"
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

// flowGroupSize is how many flow ids NewFlowID puts in one FlowIDGroup:
// few enough that Redis keeps a hash of that many markers in its compact
// encoding (hash-max-listpack-entries, 128 by default).
const flowGroupSize = 100

// flowGroups hands out the groups of NewFlowID: the minute they are for, a
// random number drawn for it (so that two processes do not fill the same
// groups), and how many ids the minute had.
var flowGroups struct {
	sync.Mutex
	minute uint32
	nonce  uint16
	n      uint32
}

// NewFlowID returns a random UUIDv4 for a flow issued at t, but for 11 of
// its hex digits (5 to 12 and 16 to 18, after the routing key), which are
// its FlowIDGroup: the minute of t, a number drawn for that minute, and
// the count of the minute's ids (of this process) divided by 100. It has
// 78 random bits. A store may keep what it remembers of flows per group,
// which then holds at most 100 flows made in the same minute and goes
// when they all have.
func NewFlowID(t time.Time) string {
	minute := uint32(t.Unix() / 60)
	flowGroups.Lock()
	if flowGroups.minute != minute || flowGroups.n == 0 {
		var nonce [2]byte
		_, _ = rand.Read(nonce[:])
		flowGroups.minute, flowGroups.nonce, flowGroups.n = minute, binary.BigEndian.Uint16(nonce[:]), 0
	}
	nonce, n := flowGroups.nonce, flowGroups.n
	flowGroups.n++
	flowGroups.Unlock()

	id := []byte(NewID())
	var group [6]byte
	binary.BigEndian.PutUint16(group[0:], uint16(minute))
	binary.BigEndian.PutUint16(group[2:], nonce)
	binary.BigEndian.PutUint16(group[4:], uint16(n/flowGroupSize)&0x0fff)
	hex.Encode(id[4:8], group[0:2])
	hex.Encode(id[9:13], group[2:4])
	var count [4]byte
	hex.Encode(count[:], group[4:6])
	copy(id[15:18], count[1:]) // id[14] is the version, 4
	return string(id)
}

// FlowIDGroup is the group of a flow id that NewFlowID made (see there);
// "" for an id that is not a UUID.
func FlowIDGroup(id string) string {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' {
		return ""
	}
	return id[4:8] + id[9:13] + id[15:18]
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
