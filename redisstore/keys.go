package redisstore

import (
	"strings"
)

// keys builds the Redis keys of one store. The scheme is in the package
// documentation; each record's file (sessions.go, identities.go, flows.go,
// identifiers.go) holds the key methods and Lua scripts of its records.
type keys struct {
	prefix string // with the trailing ":"
}

// tag returns the start of the keys with routing key rk.
func (k keys) tag(rk string) string { return k.prefix + "{" + rk + "}:" }

// validID reports whether id can be part of a key: not empty, and without
// braces, which would change the key's hash tag.
func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "{}")
}
