package redisstore

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// keys builds the Redis keys of one store (the scheme is in the package
// documentation).
type keys struct {
	prefix string // with the trailing ":"
}

// tag returns the start of the keys with routing key rk.
func (k keys) tag(rk string) string { return k.prefix + "{" + rk + "}:" }

// identity is the key of the identity with this id.
func (k keys) identity(id string) string { return k.identityPrefix(identity.RoutingKey(id)) + id }

// identityPrefix is the start of identity keys with routing key rk.
func (k keys) identityPrefix(rk string) string { return k.tag(rk) + "identity:" }

// session is the key of the session with this token hash, whose identity
// has routing key rk.
func (k keys) session(rk, tokenHash string) string { return k.sessionPrefix(rk) + tokenHash }

// sessionPrefix is the start of session keys with routing key rk.
func (k keys) sessionPrefix(rk string) string { return k.tag(rk) + "session:" }

// sessionID is the key of the index entry of the session with this id.
func (k keys) sessionID(id string) string { return k.sessionIDPrefix(identity.RoutingKey(id)) + id }

// sessionIDPrefix is the start of session index keys with routing key rk.
func (k keys) sessionIDPrefix(rk string) string { return k.tag(rk) + "session-id:" }

// sessionSet is the key of the set of the identity's sessions.
func (k keys) sessionSet(identityID string) string {
	return k.sessionSetPrefix(identity.RoutingKey(identityID)) + identityID
}

// sessionSetPrefix is the start of session set keys with routing key rk.
func (k keys) sessionSetPrefix(rk string) string { return k.tag(rk) + "sessions:" }

// flow is the key of the flow with this id.
func (k keys) flow(id string) string { return k.tag(identity.RoutingKey(id)) + "flow:" + id }

// continuity is the key of the continuity payload with this id.
func (k keys) continuity(id string) string {
	return k.tag(identity.RoutingKey(id)) + "continuity:" + id
}

// identifier is the key of the claim of a (lower-cased) login identifier.
func (k keys) identifier(identifier string) string {
	sum := sha256.Sum256([]byte(identifier))
	h := hex.EncodeToString(sum[:])
	return k.tag("i:"+h[:8]) + "identifier:" + h
}

// identityList is the key of the sorted set of all identity ids.
func (k keys) identityList() string { return k.tag("ids") + "identities" }

// validID reports whether id can be part of a key: not empty, and without
// braces, which would change the key's hash tag.
func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "{}")
}
