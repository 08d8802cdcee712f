package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// errLate reports a write that came too late for its identifier claims.
var errLate = errors.New("redisstore: the identity write came too late for its identifier claims; try again")

// CreateIdentity implements identity.Store.
func (s *Store) CreateIdentity(ctx context.Context, id *identity.Identity) error {
	if id == nil || !validID(id.ID) {
		return errors.New("redisstore: identity without a valid id")
	}
	c := *id
	c.Version = 1
	data, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("redisstore: encode identity: %w", err)
	}
	claims, err := s.claimIdentifiers(ctx, id.ID, lowerIdentifiers(id.Identifiers()))
	if err != nil {
		return err
	}
	// List the id first: the listing skips ids whose identity is missing,
	// but would never show an identity that is not listed.
	added, err := s.client.ZAdd(ctx, s.keys.identityList(), redis.Z{Member: id.ID}).Result()
	if err != nil {
		s.releaseMade(ctx, claims)
		return wrap("list identity", err)
	}
	status, err := writeIdentityScript.Run(ctx, s.client, []string{s.keys.identity(id.ID)},
		0, data, deadline(claims), "", 0).Text()
	if err != nil {
		// The write may have happened: keep the claims (stale ones are
		// taken over later).
		return wrap("create identity", err)
	}
	switch status {
	case "ok":
		id.Version = 1
		return nil
	case "exists":
		s.releaseMade(ctx, claims)
		return identity.ErrExists
	default:
		s.releaseMade(ctx, claims)
		if added == 1 {
			s.unlist(ctx, id.ID)
		}
		return errLate
	}
}

// GetIdentity implements identity.Store.
func (s *Store) GetIdentity(ctx context.Context, id string) (*identity.Identity, error) {
	if !validID(id) {
		return nil, identity.ErrNotFound
	}
	data, err := s.client.Get(ctx, s.keys.identity(id)).Result()
	if err != nil {
		return nil, wrap("get identity", err)
	}
	return decode[identity.Identity](data)
}

// FindIdentityByIdentifier implements identity.Store. A claim whose identity
// does not hold the identifier (left by a crash) counts as not found.
func (s *Store) FindIdentityByIdentifier(ctx context.Context, identifier string) (*identity.Identity, error) {
	ident := lowerIdentifiers([]string{identifier})[0]
	if ident == "" {
		return nil, identity.ErrNotFound
	}
	v, err := s.client.Get(ctx, s.keys.identifier(ident)).Result()
	if err != nil {
		return nil, wrap("find identifier", err)
	}
	_, owner, ok := parseClaimValue(v)
	if !ok {
		return nil, identity.ErrNotFound
	}
	id, err := s.GetIdentity(ctx, owner)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(lowerIdentifiers(id.Identifiers()), ident) {
		return nil, identity.ErrNotFound
	}
	return id, nil
}

// UpdateIdentity implements identity.Store.
func (s *Store) UpdateIdentity(ctx context.Context, id *identity.Identity) error {
	return s.updateIdentity(ctx, nil, id, nil)
}

// UpdateIdentityAndFlow implements identity.Store. The flow must share the
// identity's routing key (identity.NewIDFor), so that one script on one slot
// writes both.
func (s *Store) UpdateIdentityAndFlow(ctx context.Context, stored, id *identity.Identity, f *identity.Flow) error {
	if f == nil || !validID(f.ID) {
		return errors.New("redisstore: flow without a valid id")
	}
	if id != nil && identity.RoutingKey(f.ID) != identity.RoutingKey(id.ID) {
		return fmt.Errorf("redisstore: flow %s does not share the routing key of identity %s (make its id with identity.NewIDFor)", f.ID, id.ID)
	}
	return s.updateIdentity(ctx, stored, id, f)
}

// updateIdentity writes id, and f when not nil, if id.Version is the stored
// version. New identifiers are claimed before, dropped ones released after.
// prev is the identity as the caller read it, or nil: then it is read here,
// one more round trip. A prev of another version is not used.
func (s *Store) updateIdentity(ctx context.Context, prev, id *identity.Identity, f *identity.Flow) error {
	if id == nil || !validID(id.ID) {
		return errors.New("redisstore: identity without a valid id")
	}
	c := *id
	c.Version = id.Version + 1
	data, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("redisstore: encode identity: %w", err)
	}
	keys := []string{s.keys.identity(id.ID)}
	var flowData []byte
	var flowAt int64
	if f != nil {
		if flowData, err = json.Marshal(f); err != nil {
			return fmt.Errorf("redisstore: encode flow: %w", err)
		}
		keys = append(keys, s.keys.flow(f.ID))
		flowAt = pxat(identity.KeepUntil(f))
	}

	stored := prev
	if stored == nil || stored.ID != id.ID || stored.Version != id.Version {
		if stored, err = s.GetIdentity(ctx, id.ID); err != nil {
			return err
		}
	}
	// The script checks the version again: a write in between is a conflict.
	if stored.Version != id.Version {
		return identity.ErrVersionConflict
	}
	now, before := lowerIdentifiers(id.Identifiers()), lowerIdentifiers(stored.Identifiers())
	dropped, err := s.readClaims(ctx, missingFrom(before, now))
	if err != nil {
		return err
	}
	claims, err := s.claimIdentifiers(ctx, id.ID, missingFrom(now, before))
	if err != nil {
		return err
	}

	status, err := writeIdentityScript.Run(ctx, s.client, keys,
		id.Version, data, deadline(claims), flowData, flowAt).Text()
	if err != nil {
		return wrap("update identity", err) // maybe written: keep the claims
	}
	switch status {
	case "ok":
		// Released only if unchanged since read: a newer write of this
		// identity may have claimed an identifier again.
		s.release(ctx, claimsOf(dropped, id.ID))
		id.Version = c.Version
		return nil
	case "conflict":
		s.releaseMade(ctx, claims)
		return identity.ErrVersionConflict
	case "missing":
		s.releaseMade(ctx, claims)
		return identity.ErrNotFound
	default:
		s.releaseMade(ctx, claims)
		return errLate
	}
}

// DeleteIdentity implements identity.Store.
func (s *Store) DeleteIdentity(ctx context.Context, id string) error {
	if !validID(id) {
		return identity.ErrNotFound
	}
	rk := identity.RoutingKey(id)
	data, err := deleteIdentityScript.Run(ctx, s.client,
		[]string{s.keys.identity(id), s.keys.sessionSet(id)},
		s.keys.sessionPrefix(rk), s.keys.sessionIDPrefix(rk)).Text()
	if err != nil {
		return wrap("delete identity", err)
	}
	// The identity is gone; what follows is tidying up, best effort: a claim
	// left behind is stale, a listed id without identity is skipped.
	var idents []string
	if deleted, err := decode[identity.Identity](data); err == nil {
		idents = lowerIdentifiers(deleted.Identifiers())
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	_, _ = s.client.Pipelined(rctx, func(p redis.Pipeliner) error {
		for _, ident := range idents {
			releaseScript.Eval(rctx, p, []string{s.keys.identifier(ident)}, "", id)
		}
		p.ZRem(rctx, s.keys.identityList(), id)
		return nil
	})
	return nil
}

// ListIdentities implements identity.Store.
func (s *Store) ListIdentities(ctx context.Context, after string, limit int) ([]*identity.Identity, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("redisstore: list limit %d is not positive", limit)
	}
	var out []*identity.Identity
	cursor := after
	for len(out) <= limit {
		// One more than wanted tells whether there is a next page.
		want := limit + 1 - len(out)
		lower := "-"
		if cursor != "" {
			lower = "(" + cursor
		}
		ids, err := s.client.ZRangeByLex(ctx, s.keys.identityList(), &redis.ZRangeBy{
			Min: lower, Max: "+", Count: int64(want),
		}).Result()
		if err != nil {
			return nil, "", wrap("list identities", err)
		}
		found, err := s.getIdentities(ctx, ids)
		if err != nil {
			return nil, "", err
		}
		out = append(out, found...)
		if len(ids) < want {
			break
		}
		cursor = ids[len(ids)-1]
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// getIdentities reads identities, skipping ids without one.
func (s *Store) getIdentities(ctx context.Context, ids []string) ([]*identity.Identity, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.keys.identity(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap("get identities", err)
	}
	out := make([]*identity.Identity, 0, len(ids))
	for i, cmd := range cmds {
		data, err := cmd.Result()
		if err != nil {
			continue // gone since it was listed
		}
		id, err := decode[identity.Identity](data)
		if err != nil {
			// One bad record must not hide the others.
			logCorrupt(s.keys.identity(ids[i]), err)
			continue
		}
		out = append(out, id)
	}
	return out, nil
}

// unlist removes an id from the identity list, best effort.
func (s *Store) unlist(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	_ = s.client.ZRem(ctx, s.keys.identityList(), id).Err()
}

// missingFrom returns the elements of a that are not in b.
func missingFrom(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// The keys and scripts of these records.

// identity is the key of the identity with this id.
func (k keys) identity(id string) string { return k.identityPrefix(identity.RoutingKey(id)) + id }

// identityPrefix is the start of identity keys with routing key rk.
func (k keys) identityPrefix(rk string) string { return k.tag(rk) + "identity:" }

// identityList is the key of the sorted set of all identity ids.
func (k keys) identityList() string { return k.tag("ids") + "identities" }

// writeIdentityScript creates or replaces an identity, and with it a flow.
// KEYS: the identity, optionally a flow in the same slot.
// ARGV: the expected stored version ('0': the identity must not exist), the
// identity JSON, the deadline (unix ms, '0' for none) after which the
// identifier claims this write relies on may have been taken over, the flow
// JSON and the flow's expiry (unix ms).
// Returns 'ok', 'exists', 'missing', 'conflict' or 'late'.
var writeIdentityScript = redis.NewScript(luaNow + luaDecode + `
local deadline = tonumber(ARGV[3])
if deadline > 0 and now_ms() > deadline then return 'late' end
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return 'exists' end
else
  if not cur then return 'missing' end
  if decode(cur).version ~= tonumber(ARGV[1]) then return 'conflict' end
end
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[2] then redis.call('SET', KEYS[2], ARGV[4], 'PXAT', ARGV[5]) end
return 'ok'
`)

// deleteIdentityScript removes an identity and its sessions.
// KEYS: the identity, its session set. ARGV: the starts of session keys and
// of session-id keys in its tag.
// Returns the removed identity's JSON, or nil.
var deleteIdentityScript = redis.NewScript(luaDecode + `
local ident = redis.call('GET', KEYS[1])
if not ident then return false end
for _, h in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local s = redis.call('GET', ARGV[1] .. h)
  if s then
    redis.call('DEL', ARGV[1] .. h)
    local id = decode(s).id
    if type(id) == 'string' then redis.call('DEL', ARGV[2] .. id) end
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
return ident
`)
