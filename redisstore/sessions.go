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
	created, err := createSessionScript.Run(ctx, s.client, s.sessionKeys(sess),
		data, sess.TokenHash, pxat(sess.ExpiresAt)).Int()
	if err != nil {
		return wrap("create session", err)
	}
	if created == 0 {
		return identity.ErrExists
	}
	return nil
}

// GetSession implements identity.Store in one round trip: one script reads the
// session and its identity, which share a slot.
func (s *Store) GetSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	keys, arg, hash, ok := s.sessionLookup(token)
	if !ok {
		return nil, nil, identity.ErrNotFound
	}
	return decodeSessionReply(getSessionScript.Run(ctx, s.client, keys, arg), hash)
}

// GetSessionAndFlow implements identity.Store in one round trip: a pipeline of
// the session script and a read of the flow.
func (s *Store) GetSessionAndFlow(ctx context.Context, token, flowID string) (*identity.Session, *identity.Identity, *identity.Flow, error) {
	keys, arg, hash, ok := s.sessionLookup(token)
	if !ok {
		return nil, nil, nil, identity.ErrNotFound
	}
	if !validID(flowID) {
		sess, id, err := decodeSessionReply(getSessionScript.Run(ctx, s.client, keys, arg), hash)
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
	sess, id, err := decodeSessionReply(sessCmd, hash)
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
	updated, err := updateSessionScript.Run(ctx, s.client, s.sessionKeys(sess),
		data, sess.TokenHash, pxat(sess.ExpiresAt), sess.IdentityID).Int()
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
func decodeSessionReply(cmd *redis.Cmd, hash string) (*identity.Session, *identity.Identity, error) {
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
	sess, err := decode[identity.Session](sessData)
	if err != nil {
		return nil, nil, err
	}
	id, err := decode[identity.Identity](idData)
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
