package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// The list of every session (the admin API's GET /admin/sessions). Sessions
// live in their identities' slots, so no one key names them all; two sorted
// sets in a slot of their own do, written beside each session write:
//
//	<p>:{sessions}:by-issue    identity.SessionCursor of every session, score 0, read in byte order (newest first)
//	<p>:{sessions}:by-expiry   the same members, scored by the session's expiry (unix ms)
//
// The index is not written atomically with the session (another slot), so
// it may name sessions that are gone (deleted, or never written): a listing
// skips those, and removes them once they are older than indexGrace (a
// younger one may be a session whose write is still on its way). Each index
// write also drops up to indexPrune entries whose session has expired, so
// the index holds about the live sessions and never grows without bound.

// indexGrace is how old a listed session that is missing must be before a
// listing removes it from the index.
const indexGrace = time.Minute

// indexPrune is how many expired entries one index write removes at most.
const indexPrune = 100

// listScanFactor bounds the work of one ListAllSessions call: it reads at
// most this many index entries per session asked for (plus one page).
const listScanFactor = 4

// sessionIndexByIssue is the key of the index in cursor order.
func (k keys) sessionIndexByIssue() string { return k.tag("sessions") + "by-issue" }

// sessionIndexByExpiry is the key of the index by expiry.
func (k keys) sessionIndexByExpiry() string { return k.tag("sessions") + "by-expiry" }

// indexSession is the call of indexSessionScript for a session write.
func (s *Store) indexSession(sess *identity.Session) scriptCall {
	return scriptCall{
		script: indexSessionScript,
		keys:   []string{s.keys.sessionIndexByIssue(), s.keys.sessionIndexByExpiry()},
		args:   []any{identity.SessionCursor(sess), pxat(sess.ExpiresAt), indexPrune},
	}
}

// RevokeSessions implements identity.Sessions in one round trip.
func (s *Store) RevokeSessions(ctx context.Context, identityID, keep string) (int, error) {
	if !validID(identityID) {
		return 0, nil
	}
	n, err := revokeSessionsScript.Run(ctx, s.client, []string{s.keys.sessionSet(identityID)},
		s.keys.sessionPrefix(identity.RoutingKey(identityID)), keep).Int()
	if err != nil {
		return 0, wrap("revoke sessions", err)
	}
	return n, nil
}

// ListAllSessions implements identity.Sessions: per batch, one read of the
// index and one pipelined read of the sessions with their identities.
func (s *Store) ListAllSessions(ctx context.Context, after string, limit int) ([]identity.SessionWithIdentity, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("redisstore: list limit %d is not positive", limit)
	}
	var out []identity.SessionWithIdentity
	var cursors []string
	cursor, budget, exhausted := after, listScanFactor*limit+limit, false
	for len(out) <= limit && budget > 0 {
		// One more than wanted tells whether there is a next page.
		want := min(limit+1-len(out), budget)
		lower := "-"
		if cursor != "" {
			lower = "(" + cursor
		}
		members, err := s.client.ZRangeByLex(ctx, s.keys.sessionIndexByIssue(), &redis.ZRangeBy{
			Min: lower, Max: "+", Count: int64(want),
		}).Result()
		if err != nil {
			return nil, "", wrap("list sessions", err)
		}
		budget -= len(members)
		found, at, stale, err := s.readListed(ctx, members)
		if err != nil {
			return nil, "", err
		}
		out, cursors = append(out, found...), append(cursors, at...)
		s.unindex(ctx, stale)
		if len(members) < want {
			exhausted = true
			break
		}
		cursor = members[len(members)-1]
	}
	switch {
	case len(out) > limit:
		return out[:limit], cursors[limit-1], nil
	case exhausted:
		return out, "", nil
	default: // the budget ran out: a short page, and on from where it stopped
		return out, cursor, nil
	}
}

// readListed reads the sessions of index members with their identities, in
// one round trip. It returns what it found with the members they came from,
// and the members that are gone for good (older than indexGrace).
func (s *Store) readListed(ctx context.Context, members []string) (found []identity.SessionWithIdentity, at, stale []string, err error) {
	calls := make([]scriptCall, 0, len(members))
	valid := make([]string, 0, len(members))
	for _, m := range members {
		id := identity.SessionCursorID(m)
		if !validID(id) {
			stale = append(stale, m)
			continue
		}
		rk := identity.RoutingKey(id)
		calls = append(calls, scriptCall{
			script: getListedSessionScript,
			keys:   []string{s.keys.sessionID(id)},
			args:   []any{s.keys.sessionPrefix(rk), s.keys.identityPrefix(rk)},
		})
		valid = append(valid, m)
	}
	cmds := s.runScripts(ctx, calls)
	old := time.Now().Add(-indexGrace).UnixMilli()
	for i, cmd := range cmds {
		m := valid[i]
		res, err := cmd.Slice()
		switch {
		case errors.Is(err, redis.Nil):
			if identity.SessionCursorIssuedAt(m) < old {
				stale = append(stale, m)
			}
			continue
		case err != nil:
			return nil, nil, nil, wrap("list sessions", err)
		}
		sessData, _ := res[0].(string)
		idData, ok := res[1].(string)
		if !ok {
			continue // its identity is gone
		}
		sess, err1 := decode[identity.Session](sessData)
		id, err2 := decode[identity.Identity](idData)
		switch {
		case err1 != nil || err2 != nil || id.ID != sess.IdentityID:
			continue // one bad record must not hide the others
		case identity.SessionCursor(sess) != m:
			// Its issue time changed (a refresh login): the entry of
			// the new time lists it.
			stale = append(stale, m)
			continue
		}
		found = append(found, identity.SessionWithIdentity{Session: sess, Identity: id})
		at = append(at, m)
	}
	return found, at, stale, nil
}

// unindex removes index members whose sessions are gone. It is cleanup: a
// failure is left for the next listing or the expiry pruning.
func (s *Store) unindex(ctx context.Context, members []string) {
	if len(members) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	m := make([]any, len(members))
	for i, v := range members {
		m[i] = v
	}
	_, _ = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.keys.sessionIndexByIssue(), m...)
		p.ZRem(ctx, s.keys.sessionIndexByExpiry(), m...)
		return nil
	})
}

// scriptCall is one script run of a pipeline.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// runScripts runs scripts in one round trip, in whatever slots their keys
// are: by hash first, and those the server did not know once more with their
// source. Each answer is in its Cmd.
func (s *Store) runScripts(ctx context.Context, calls []scriptCall) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	if len(calls) == 0 {
		return cmds
	}
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range calls {
			cmds[i] = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	var again []int
	for i, cmd := range cmds {
		if isNoScript(cmd.Err()) {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range again {
				c := calls[i]
				cmds[i] = c.script.Eval(ctx, p, c.keys, c.args...)
			}
			return nil
		})
	}
	return cmds
}

// indexSessionScript adds or updates a session in the index, and drops up
// to ARGV[3] entries that have expired.
// KEYS: the index by issue, the index by expiry. ARGV: the session's cursor,
// its expiry (unix ms), the prune limit.
var indexSessionScript = redis.NewScript(luaNow + `
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[3]))
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
return 1
`)

// getListedSessionScript reads a session by id and its identity.
// KEYS[1]: the session-id entry. ARGV: the starts of session keys and of
// identity keys in its tag.
// Returns nil when the session is gone, else {session JSON, identity JSON or nil}.
var getListedSessionScript = redis.NewScript(luaDecode + `
local h = redis.call('GET', KEYS[1])
if not h then return false end
local s = redis.call('GET', ARGV[1] .. h)
if not s then return false end
local id = decode(s).identity_id
if type(id) ~= 'string' then return false end
return {s, redis.call('GET', ARGV[2] .. id)}
`)

// revokeSessionsScript sets active to false on an identity's sessions but
// one, keeping their expiry.
// KEYS[1]: the identity's session set. ARGV: the start of session keys in
// its tag, the id of the session to keep (empty for none).
// Returns how many sessions other than the kept one it found.
//
// The JSON is changed as text, not decoded and encoded again (cjson would
// turn an empty array into an object): the session's JSON, as
// encoding/json writes identity.Session, has "active" as its fourth member,
// after three ids that hold no quotes, so the first ,"active":true, is it.
var revokeSessionsScript = redis.NewScript(luaTidy + luaDecode + `
tidy(KEYS[1])
local n = 0
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. h
  local s = redis.call('GET', key)
  local v = s and decode(s) or {}
  if s and v.id ~= ARGV[2] then
    n = n + 1
    if v.active == true then
      local i, j = string.find(s, ',"active":true,', 1, true)
      if i then
        redis.call('SET', key, string.sub(s, 1, i - 1) .. ',"active":false,' .. string.sub(s, j + 1), 'KEEPTTL')
      end
    end
  end
end
return n
`)
