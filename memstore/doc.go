// Package memstore is the in-memory store: the default when no Redis is
// configured, shared by every handler of the process and across config
// reloads, and the reference the Redis store is tested against.
package memstore
