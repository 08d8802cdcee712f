package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// CreateSession implements identity.Store. ErrExists when the token hash or the
// session id is in use.
func (s *Store) CreateSession(ctx context.Context, sess *identity.Session) error {
	if err := checkSession(sess); err != nil {
		return err
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("redisstore: encode session: %w", err)
	}
	// The session and its entry in the list of all sessions, in one round
	// trip (two slots).
	cmds := s.runScripts(ctx, []scriptCall{
		{script: createSessionScript, keys: s.sessionKeys(sess), args: []any{data, sess.TokenHash, pxat(sess.ExpiresAt)}},
		s.indexSession(sess),
	})
	created, err := cmds[0].Int()
	if err == nil {
		err = cmds[1].Err()
	}
	if err != nil {
		return wrap("create session", err)
	}
	if created == 0 {
		return identity.ErrExists
	}
	return nil
}

// GetSession implements identity.Store in one round trip: one script reads the
// session and its identity, which share a slot, in a pipeline with the
// lookups of other requests (sessionbatch.go).
func (s *Store) GetSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	return s.getSession(ctx, token, true)
}

// ViewSession implements identity.Sessions: GetSession without the copy of
// records decoded before.
func (s *Store) ViewSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	return s.getSession(ctx, token, false)
}

// getSession is GetSession, its records copies when ownCopy is set.
func (s *Store) getSession(ctx context.Context, token string, ownCopy bool) (*identity.Session, *identity.Identity, error) {
	keys, arg, hash, ok := s.sessionLookup(token)
	if !ok {
		return nil, nil, identity.ErrNotFound
	}
	return s.decodeSessionReply(s.readSession(ctx, keys, arg), hash, ownCopy)
}

// GetSessionAndFlow implements identity.Store in one round trip: a pipeline of
// the session script and a read of the flow.
func (s *Store) GetSessionAndFlow(ctx context.Context, token, flowID string) (*identity.Session, *identity.Identity, *identity.Flow, error) {
	keys, arg, hash, ok := s.sessionLookup(token)
	if !ok {
		return nil, nil, nil, identity.ErrNotFound
	}
	if !validID(flowID) {
		sess, id, err := s.decodeSessionReply(getSessionScript.Run(ctx, s.client, keys, arg), hash, false)
		return sess, id, nil, err
	}
	var sessCmd *redis.Cmd
	var flowCmd *redis.StringCmd
	read := func(eval func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd) {
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			sessCmd = eval(ctx, p, keys, arg)
			flowCmd = p.Get(ctx, s.keys.flow(flowID))
			return nil
		})
	}
	read(getSessionScript.EvalSha)
	if isNoScript(sessCmd.Err()) {
		read(getSessionScript.Eval) // first use on this server: send the script
	}
	sess, id, err := s.decodeSessionReply(sessCmd, hash, false)
	if err != nil {
		return nil, nil, nil, err
	}
	data, err := flowCmd.Result()
	switch {
	case errors.Is(err, redis.Nil):
		return sess, id, nil, nil
	case err != nil:
		return nil, nil, nil, wrap("get flow", err)
	}
	f, err := decode[identity.Flow](data)
	if err != nil {
		return nil, nil, nil, err
	}
	return sess, id, f, nil
}

// GetSessionByID implements identity.Store.
func (s *Store) GetSessionByID(ctx context.Context, id string) (*identity.Session, error) {
	if !validID(id) {
		return nil, identity.ErrNotFound
	}
	data, err := getSessionByIDScript.Run(ctx, s.client, []string{s.keys.sessionID(id)},
		s.keys.sessionPrefix(identity.RoutingKey(id))).Text()
	if err != nil {
		return nil, wrap("get session", err)
	}
	sess, err := decode[identity.Session](data)
	if err != nil {
		return nil, err
	}
	if sess.ID != id {
		return nil, identity.ErrNotFound
	}
	return sess, nil
}

// UpdateSession implements identity.Store. The session is found by its id, and
// its token hash and identity must be the stored ones (else ErrNotFound).
func (s *Store) UpdateSession(ctx context.Context, sess *identity.Session) error {
	if err := checkSession(sess); err != nil {
		return err
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("redisstore: encode session: %w", err)
	}
	cmds := s.runScripts(ctx, []scriptCall{
		{script: updateSessionScript, keys: s.sessionKeys(sess), args: []any{data, sess.TokenHash, pxat(sess.ExpiresAt), sess.IdentityID}},
		s.indexSession(sess), // its expiry may have changed
	})
	updated, err := cmds[0].Int()
	if err == nil {
		err = cmds[1].Err()
	}
	if err != nil {
		return wrap("update session", err)
	}
	if updated == 0 {
		return identity.ErrNotFound
	}
	return nil
}

// ListSessions implements identity.Store.
func (s *Store) ListSessions(ctx context.Context, identityID string) ([]*identity.Session, error) {
	if !validID(identityID) {
		return nil, nil
	}
	data, err := listSessionsScript.Run(ctx, s.client, []string{s.keys.sessionSet(identityID)},
		s.keys.sessionPrefix(identity.RoutingKey(identityID))).StringSlice()
	if err != nil {
		return nil, wrap("list sessions", err)
	}
	out := make([]*identity.Session, 0, len(data))
	for _, d := range data {
		sess, err := decode[identity.Session](d)
		if err != nil {
			return nil, err
		}
		if sess.IdentityID == identityID {
			out = append(out, sess)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].IssuedAt.Equal(out[j].IssuedAt) {
			return out[i].IssuedAt.After(out[j].IssuedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// DeleteSession implements identity.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if !validID(id) {
		return identity.ErrNotFound
	}
	rk := identity.RoutingKey(id)
	deleted, err := deleteSessionScript.Run(ctx, s.client, []string{s.keys.sessionID(id)},
		s.keys.sessionPrefix(rk), s.keys.sessionSetPrefix(rk)).Int()
	if err != nil {
		return wrap("delete session", err)
	}
	if deleted == 0 {
		return identity.ErrNotFound
	}
	return nil
}

// DeleteSessions implements identity.Store.
func (s *Store) DeleteSessions(ctx context.Context, identityID, keep string) (int, error) {
	if !validID(identityID) {
		return 0, nil
	}
	rk := identity.RoutingKey(identityID)
	n, err := deleteSessionsScript.Run(ctx, s.client, []string{s.keys.sessionSet(identityID)},
		s.keys.sessionPrefix(rk), s.keys.sessionIDPrefix(rk), keep).Int()
	if err != nil {
		return 0, wrap("delete sessions", err)
	}
	return n, nil
}

// sessionKeys returns the keys a session write touches: the session, its id
// entry and its identity's session set (one slot, checkSession made sure).
func (s *Store) sessionKeys(sess *identity.Session) []string {
	return []string{
		s.keys.session(identity.RoutingKey(sess.IdentityID), sess.TokenHash),
		s.keys.sessionID(sess.ID),
		s.keys.sessionSet(sess.IdentityID),
	}
}

// sessionLookup returns the keys and argument of getSessionScript for a
// token, and the token's hash; not ok for a token that cannot be stored.
func (s *Store) sessionLookup(token string) (keys []string, identityPrefix, hash string, ok bool) {
	rk := identity.RoutingKey(token)
	if !validID(token) || !validID(rk) {
		return nil, "", "", false
	}
	hash = identity.HashToken(token)
	return []string{s.keys.session(rk, hash)}, s.keys.identityPrefix(rk), hash, true
}

// decodeSessionReply reads the answer of getSessionScript for the token
// whose hash is hash.
func (s *Store) decodeSessionReply(cmd *redis.Cmd, hash string, ownCopy bool) (*identity.Session, *identity.Identity, error) {
	res, err := cmd.Slice()
	if err != nil {
		return nil, nil, wrap("get session", err)
	}
	if len(res) != 2 {
		return nil, nil, fmt.Errorf("redisstore: get session: unexpected answer of %d values", len(res))
	}
	sessData, _ := res[0].(string)
	idData, ok := res[1].(string)
	if !ok {
		return nil, nil, identity.ErrNotFound // the identity is gone
	}
	sess, err := decodeCached(&s.sessions, sessData, ownCopy)
	if err != nil {
		return nil, nil, err
	}
	id, err := decodeCached(&s.identities, idData, ownCopy)
	if err != nil {
		return nil, nil, err
	}
	if sess.TokenHash != hash || id.ID != sess.IdentityID {
		return nil, nil, identity.ErrNotFound
	}
	return sess, id, nil
}

// checkSession rejects a session the store could not key, or whose id does
// not share its identity's routing key (its records would not share a slot).
func checkSession(sess *identity.Session) error {
	switch {
	case sess == nil || !validID(sess.ID) || !validID(sess.IdentityID) || !validID(sess.TokenHash):
		return errors.New("redisstore: session without a valid id, identity id or token hash")
	case identity.RoutingKey(sess.ID) != identity.RoutingKey(sess.IdentityID):
		return fmt.Errorf("redisstore: session id %s does not share the routing key of identity %s (make it with identity.NewIDFor)", sess.ID, sess.IdentityID)
	}
	return nil
}

// isNoScript reports whether err says the server does not know a script.
func isNoScript(err error) bool {
	return errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT")
}

// The keys and scripts of these records.

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

// getSessionScript reads a session and its identity.
// KEYS[1]: the session. ARGV[1]: the start of identity keys in its tag.
// Returns nil, or {session JSON, identity JSON or nil}.
//
// It runs on every request with a session, so it finds the identity id
// without decoding the session: json.Marshal writes it as the second member,
// after the id, and a quote inside a JSON string is escaped, so the first
// "identity_id":"…" is the member. A record that does not have it so is
// decoded. decodeSessionReply checks that the identity is the session's.
var getSessionScript = redis.NewScript(luaDecode + `
local s = redis.call('GET', KEYS[1])
if not s then return false end
local id = string.match(s, '"identity_id":"([0-9a-f-]+)"')
if not id then id = decode(s).identity_id end
if type(id) ~= 'string' then return {s, false} end
return {s, redis.call('GET', ARGV[1] .. id)}
`)

// getSessionByIDScript reads a session through its id.
// KEYS[1]: the session-id entry. ARGV[1]: the start of session keys in its tag.
// Returns the session JSON or nil.
var getSessionByIDScript = redis.NewScript(`
local h = redis.call('GET', KEYS[1])
if not h then return false end
return redis.call('GET', ARGV[1] .. h)
`)

// createSessionScript stores a new session.
// KEYS: the session, its session-id entry, the identity's session set.
// ARGV: session JSON, token hash, expiry (unix ms).
// Returns 0 if the session or its id exists, else 1.
var createSessionScript = redis.NewScript(luaTidy + `
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
tidy(KEYS[3])
return 1
`)

// updateSessionScript replaces a stored session.
// KEYS: the session, its session-id entry, the identity's session set.
// ARGV: session JSON, token hash, expiry (unix ms), identity id.
// Returns 0 unless the id, token hash and identity are the stored ones,
// else 1.
var updateSessionScript = redis.NewScript(luaTidy + luaDecode + `
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
local old = redis.call('GET', KEYS[1])
if not old or decode(old).identity_id ~= ARGV[4] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
tidy(KEYS[3])
return 1
`)

// listSessionsScript returns the JSON of an identity's live sessions.
// KEYS[1]: the identity's session set. ARGV[1]: the start of session keys in
// its tag.
var listSessionsScript = redis.NewScript(luaTidy + `
tidy(KEYS[1])
local out = {}
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s = redis.call('GET', ARGV[1] .. h)
  if s then out[#out + 1] = s else redis.call('ZREM', KEYS[1], h) end
end
return out
`)

// deleteSessionScript removes a session by id.
// KEYS[1]: the session-id entry. ARGV: the starts of session keys and of
// session set keys in its tag.
// Returns 1 if a session was removed, else 0.
var deleteSessionScript = redis.NewScript(luaDecode + `
local h = redis.call('GET', KEYS[1])
if not h then return 0 end
redis.call('DEL', KEYS[1])
local s = redis.call('GET', ARGV[1] .. h)
if not s then return 0 end
redis.call('DEL', ARGV[1] .. h)
local id = decode(s).identity_id
if type(id) == 'string' then redis.call('ZREM', ARGV[2] .. id, h) end
return 1
`)

// deleteSessionsScript removes an identity's sessions but one.
// KEYS[1]: the identity's session set. ARGV: the starts of session keys and
// of session-id keys in its tag, the id of the session to keep (empty for none).
// Returns how many live sessions it removed.
var deleteSessionsScript = redis.NewScript(luaTidy + luaDecode + `
tidy(KEYS[1])
local n = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s = redis.call('GET', ARGV[1] .. h)
  local id = s and decode(s).id
  if not s or id ~= ARGV[3] then
    if s then
      redis.call('DEL', ARGV[1] .. h)
      if type(id) == 'string' then redis.call('DEL', ARGV[2] .. id) end
      n = n + 1
    end
    redis.call('ZREM', KEYS[1], h)
  end
end
return n
`)
