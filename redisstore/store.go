// Package redisstore keeps identities, sessions and flows in Redis
// (standalone, Sentinel or Cluster). It is the only package that knows Redis.
//
// # Keys
//
// Every key starts with the key prefix and a hash tag in braces. Keys with
// the same tag are in the same cluster slot, so one script may read and
// write them together:
//
//	<p>:{<rk>}:identity:<identity id>    identity JSON, its version inside
//	<p>:{<rk>}:session:<token hash>      session JSON, expires at its expires_at
//	<p>:{<rk>}:session-id:<session id>   the session's token hash, same expiry
//	<p>:{<rk>}:sessions:<identity id>    sorted set of the identity's token hashes, scored by expiry
//	<p>:{<rk>}:flow:<flow id>            flow JSON, expires at identity.KeepUntil (FlowGrace after its expires_at);
//	                                     a login or registration flow at its expires_at
//	<p>:{<rk>}:flows:<identity id>       sorted set of the identity's flow ids, scored by KeepUntil (at most
//	                                     identity.MaxIdentityFlows), expires with the newest
//	<p>:{fm:<g>}:flow-markers            hash of the markers of expired login and registration flows (identity.EncodeMarker)
//	                                     by flow id, one per identity.FlowIDGroup <g>, until the last one's KeepUntil
//	<p>:{<rk>}:continuity:<id>           paused submission, expires after its ttl
//	<p>:{<rk>}:code:<flow id>            hash: a verification or recovery flow's code (its HMAC only) and the
//	                                     flow's count of code submissions, in the flow's slot (codes.go)
//	<p>:{codes}:key                      the random key codes are hashed with when the site sets no secret
//	<p>:{i:<h8>}:identifier:<h>          claim of a login identifier: "<ms>:<nonce>:<identity id>"
//	<p>:{ids}:identities                 sorted set of all identity ids, score 0, read in id order
//	<p>:{sessions}:by-issue              every session's identity.SessionCursor, score 0 (sessionlist.go)
//	<p>:{sessions}:by-expiry             the same, scored by the session's expiry
//	<p>:{courier}:…                      the courier's queue: a Stream, a hash per message, indexes (messages.go)
//
// <rk> is identity.RoutingKey of the record's id. An identity's session ids,
// session tokens and settings flow ids share its routing key, so all records
// of one identity are in one slot: GetSession reads a session and its
// identity with one script, and UpdateIdentityAndFlow writes both with one.
// <h> is the hex SHA-256 of the lower-cased identifier and <h8> its first 8
// digits, so no e-mail address appears in a key name. The claims are kept
// unique by the protocol described in identifiers.go.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// Store is a identity.Store on Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	keys   keys

	// The session lookups waiting for a pipeline (sessionbatch.go).
	batch sessionBatch
	// The sessions and identities decoded lately (decoded.go).
	sessions   decodedCache[identity.Session]
	identities decodedCache[identity.Identity]
}

var _ identity.Store = (*Store)(nil)

// New returns a Store for opts. It never connects: the first command does,
// so a Caddy config loads while Redis is down.
func New(opts Options) (*Store, error) {
	t, err := opts.target()
	if err != nil {
		return nil, err
	}
	c := redis.NewUniversalClient(t.universalOptions())
	if t.waitReplicas > 0 {
		c.AddHook(waitHook{client: c, replicas: t.waitReplicas, timeout: t.waitTimeout})
	}
	return NewWithClient(c, t.keyPrefix), nil
}

// NewWithClient returns a Store on a client made elsewhere, with every key
// under keyPrefix (empty: DefaultKeyPrefix). The Store owns the client: Close
// closes it. It panics on a prefix with braces, which would break the keys'
// hash tags (Options.Validate reports that for configured prefixes).
func NewWithClient(c redis.UniversalClient, keyPrefix string) *Store {
	if keyPrefix == "" {
		keyPrefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(keyPrefix, "{}") {
		panic(fmt.Sprintf("redisstore: key prefix %q contains braces", keyPrefix))
	}
	return &Store{client: c, keys: keys{prefix: keyPrefix + ":"}}
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.client.Ping(ctx).Err())
}

// Close implements identity.Store: it closes the client.
func (s *Store) Close() error {
	return wrap("close", s.client.Close())
}

// wrap turns a go-redis error into the store's: redis.Nil is
// identity.ErrNotFound, anything else says what failed. go-redis errors carry
// no passwords.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return identity.ErrNotFound
	default:
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
}

// pxat returns t as a PXAT argument: unix milliseconds, at least 1 (Redis
// refuses 0; a time in the past removes the key at once).
func pxat(t time.Time) int64 {
	return max(t.UnixMilli(), 1)
}

// decode decodes a record the store wrote.
func decode[T any](data string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, fmt.Errorf("redisstore: %w: %T: %v", identity.ErrCorrupt, v, err)
	}
	return v, nil
}
