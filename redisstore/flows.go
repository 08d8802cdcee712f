package redisstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seed06f30684/caddy-kratos/identity"
)

// SaveFlow implements identity.Store: the flow expires from Redis at
// identity.KeepUntil; a Marked flow at its ExpiresAt, and its marker stays
// in its group's hash until KeepUntil (see markers).
func (s *Store) SaveFlow(ctx context.Context, f *identity.Flow) error {
	if f == nil || !validID(f.ID) {
		return errors.New("redisstore: flow without a valid id")
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("redisstore: encode flow: %w", err)
	}
	switch {
	case f.IdentityID != "":
		return s.saveIdentityFlow(ctx, f, data)
	case !identity.Marked(f):
		err = s.client.Do(ctx, "SET", s.keys.flow(f.ID), data, "PXAT", pxat(identity.KeepUntil(f))).Err()
		return wrap("save flow", err)
	}
	// The whole flow until it expires, its marker until KeepUntil: one
	// round trip (on a cluster, one to each of the two slots, at once).
	base := identity.MarkerBase(f)
	markerArgs := []any{markerField(f.ID), identity.EncodeMarker(f, base), identity.EncodeMarker(f, ""), base, pxat(identity.KeepUntil(f))}
	var marker *redis.Cmd
	write := func(eval func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd) error {
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			if f.ExpiresAt.After(time.Now()) {
				p.Do(ctx, "SET", s.keys.flow(f.ID), data, "PXAT", pxat(f.ExpiresAt))
			} else {
				p.Del(ctx, s.keys.flow(f.ID))
			}
			marker = eval(ctx, p, []string{s.keys.flowMarkers(f.ID)}, markerArgs...)
			return nil
		})
		return err
	}
	err = write(saveMarkerScript.EvalSha)
	if isNoScript(marker.Err()) {
		err = write(saveMarkerScript.Eval) // first use on this server: send the script
	}
	return wrap("save flow", err)
}

// saveIdentityFlow saves a flow of an identity and keeps it in the
// identity's flow index, where the flows beyond identity.MaxIdentityFlows
// that go first are forgotten: one script, in the identity's slot.
func (s *Store) saveIdentityFlow(ctx context.Context, f *identity.Flow, data []byte) error {
	if !validID(f.IdentityID) || identity.RoutingKey(f.ID) != identity.RoutingKey(f.IdentityID) {
		return fmt.Errorf("redisstore: flow %s of identity %s does not share its routing key (make its id with identity.NewIDFor)", f.ID, f.IdentityID)
	}
	err := saveIdentityFlowScript.Run(ctx, s.client,
		[]string{s.keys.flow(f.ID), s.keys.identityFlows(f.IdentityID)},
		data, pxat(identity.KeepUntil(f)), f.ID, identity.MaxIdentityFlows,
		s.keys.flowPrefix(identity.RoutingKey(f.ID))).Err()
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return wrap("save flow", err)
}

// saveIdentityFlowScript: KEYS flow, the identity's flow index (sorted by
// KeepUntil); ARGV data, KeepUntil in ms, flow id, the most flows kept, the
// flow key prefix of the slot. A new flow is the one kept longest (flows
// are made with the same lifespan), so the index expires with it. The
// flows that go first are those that expire first, so a flow the server
// forgot already goes before any other.
var saveIdentityFlowScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
if redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3]) == 0 then
  return
end
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local gone = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #gone, 2 do
    redis.call('DEL', ARGV[5] .. gone[i])
  end
end
`)

// GetFlow implements identity.Store.
func (s *Store) GetFlow(ctx context.Context, id string) (*identity.Flow, error) {
	if !validID(id) {
		return nil, identity.ErrNotFound
	}
	// The whole flow, else (a Marked flow that expired) its marker and the
	// base of its group: one round trip.
	var flow *redis.StringCmd
	var marker *redis.SliceCmd
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		flow = p.Get(ctx, s.keys.flow(id))
		marker = p.HMGet(ctx, s.keys.flowMarkers(id), markerField(id), "")
		return nil
	})
	if data, err := flow.Result(); err == nil {
		return decode[identity.Flow](data)
	} else if !errors.Is(err, redis.Nil) {
		return nil, wrap("get flow", err)
	}
	vals, err := marker.Result()
	if err != nil {
		return nil, wrap("get flow", err)
	}
	if len(vals) != 2 {
		return nil, identity.ErrNotFound
	}
	data, ok := vals[0].(string)
	if !ok {
		return nil, identity.ErrNotFound
	}
	base, _ := vals[1].(string)
	f, err := identity.DecodeMarker(id, []byte(data), base)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	if !time.Now().Before(identity.KeepUntil(f)) {
		return nil, identity.ErrNotFound // its group outlives it by up to a minute
	}
	return f, nil
}

// SaveContinuity implements identity.Store.
func (s *Store) SaveContinuity(ctx context.Context, id string, payload []byte, ttl time.Duration) error {
	if !validID(id) {
		return errors.New("redisstore: continuity without a valid id")
	}
	if ttl <= 0 {
		return fmt.Errorf("redisstore: continuity ttl %s is not positive", ttl)
	}
	ms := (ttl + time.Millisecond - 1).Milliseconds()
	err := s.client.Do(ctx, "SET", s.keys.continuity(id), payload, "PX", ms).Err()
	return wrap("save continuity", err)
}

// TakeContinuity implements identity.Store.
func (s *Store) TakeContinuity(ctx context.Context, id string) ([]byte, error) {
	if !validID(id) {
		return nil, identity.ErrNotFound
	}
	data, err := s.client.GetDel(ctx, s.keys.continuity(id)).Bytes()
	if err != nil {
		return nil, wrap("take continuity", err)
	}
	return data, nil
}

// The keys and scripts of these records.

// Markers: what is kept of a Marked flow once it expired
// (identity.EncodeMarker) is a field of a hash, one hash per
// identity.FlowIDGroup of the flow ids (the minute the flows were made in,
// 16 groups a minute, so a cluster spreads them over its slots). A string
// key per marker would cost more in Redis' own overhead than the marker
// holds. The field is the flow id (16 bytes), the value the marker with its
// request URL after the group's base (identity.MarkerBase, kept once in the
// field ""), or whole when the base differs. The hash expires with its last
// marker: Redis expires keys, not fields.

// flowMarkers is the key of the hash that holds the marker of flow id.
func (k keys) flowMarkers(id string) string {
	group := identity.FlowIDGroup(id)
	if group == "" {
		group = id
	}
	return k.prefix + "{fm:" + group + "}:flow-markers"
}

// markerField is the field of flow id's marker in its hash: the UUID's 16
// bytes, or the id as it is.
func markerField(id string) string {
	if b, err := hex.DecodeString(strings.ReplaceAll(id, "-", "")); err == nil && len(b) == 16 {
		return string(b)
	}
	return id
}

// saveMarkerScript keeps a marker in its group's hash, which then lives at
// least until the marker's keep-until time.
// KEYS: the hash. ARGV: the field, the marker with its request URL after
// the base, the marker with the whole URL, the base, and the keep-until
// time (unix ms).
var saveMarkerScript = redis.NewScript(luaNow + `
local base = redis.call('HGET', KEYS[1], '')
if not base then
  redis.call('HSET', KEYS[1], '', ARGV[4])
  base = ARGV[4]
end
if base == ARGV[4] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
local ttl = redis.call('PTTL', KEYS[1])
local at = tonumber(ARGV[5])
if ttl < 0 or now_ms() + ttl < at then
  redis.call('PEXPIREAT', KEYS[1], at)
end
return 1
`)

// flow is the key of the flow with this id.
func (k keys) flow(id string) string { return k.flowPrefix(identity.RoutingKey(id)) + id }

// flowPrefix is the start of the flow keys with routing key rk.
func (k keys) flowPrefix(rk string) string { return k.tag(rk) + "flow:" }

// identityFlows is the key of the index of an identity's flows.
func (k keys) identityFlows(identityID string) string {
	return k.tag(identity.RoutingKey(identityID)) + "flows:" + identityID
}

// continuity is the key of the continuity payload with this id.
func (k keys) continuity(id string) string {
	return k.tag(identity.RoutingKey(id)) + "continuity:" + id
}
