package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

var _ identity.Codes = (*Store)(nil)

// code is the key of a flow's one-time code: a hash in the flow's slot with
// the fields hash, identity_id, address, expires_at (unix ms), used and
// submits (the flow's count of code submissions).
func (k keys) code(flowID string) string {
	return k.tag(identity.RoutingKey(flowID)) + "code:" + flowID
}

// codeKey is the key of the store's code key (identity.Codes.CodeKey).
func (k keys) codeKey() string { return k.tag("codes") + "key" }

// SaveCode implements identity.Codes in one round trip.
func (s *Store) SaveCode(ctx context.Context, c *identity.Code, keepUntil time.Time) error {
	if c == nil || !validID(c.FlowID) {
		return errors.New("redisstore: code without a valid flow id")
	}
	key := s.keys.code(c.FlowID)
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "hash", c.Hash, "identity_id", c.IdentityID, "address", c.Address,
			"expires_at", c.ExpiresAt.UnixMilli(), "used", "0")
		p.PExpireAt(ctx, key, time.UnixMilli(pxat(keepUntil)))
		return nil
	})
	return wrap("save code", err)
}

// UseCode implements identity.Codes in one round trip: useCodeScript.
func (s *Store) UseCode(ctx context.Context, flowID string, hashes []string, now, keepUntil time.Time, maxSubmits int) (*identity.Code, error) {
	if !validID(flowID) {
		return nil, identity.ErrCodeInvalid
	}
	args := []any{pxat(keepUntil), maxSubmits, now.UnixMilli()}
	for _, h := range hashes {
		args = append(args, h)
	}
	res, err := useCodeScript.Run(ctx, s.client, []string{s.keys.code(flowID)}, args...).StringSlice()
	if err != nil {
		return nil, wrap("use code", err)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("redisstore: use code: empty answer")
	}
	switch res[0] {
	case "too_many":
		return nil, identity.ErrCodeTooManySubmits
	case "invalid":
		return nil, identity.ErrCodeInvalid
	case "expired":
		return nil, identity.ErrCodeExpired
	case "used":
		return nil, identity.ErrCodeUsed
	case "ok":
		if len(res) != 4 {
			break
		}
		ms, err := strconv.ParseInt(res[3], 10, 64)
		if err != nil {
			break
		}
		return &identity.Code{FlowID: flowID, IdentityID: res[1], Address: res[2], ExpiresAt: time.UnixMilli(ms).UTC(), Used: true}, nil
	}
	return nil, fmt.Errorf("redisstore: use code: %w", identity.ErrCorrupt)
}

// useCodeScript counts a code submission (KEYS[1] the flow's code hash;
// ARGV: keep-until ms, the most submissions, now ms, then the hashes the
// submitted code may have) and checks and uses the code, as
// identity.Codes.UseCode says.
var useCodeScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], 'submits', 1)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return {'too_many'} end
local f = redis.call('HMGET', KEYS[1], 'hash', 'identity_id', 'address', 'expires_at', 'used')
local match = false
if f[1] then
  for i = 4, #ARGV do
    if ARGV[i] == f[1] then match = true end
  end
end
if not match then return {'invalid'} end
if tonumber(f[4]) <= tonumber(ARGV[3]) then return {'expired'} end
if f[5] == '1' then return {'used'} end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', f[2], f[3], f[4]}
`)

// CodeKey implements identity.Codes: the first caller's random key wins
// (SET NX), every instance then reads the same one.
func (s *Store) CodeKey(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if err := s.client.SetNX(ctx, s.keys.codeKey(), fresh, 0).Err(); err != nil {
		return nil, wrap("code key", err)
	}
	key, err := s.client.Get(ctx, s.keys.codeKey()).Bytes()
	if err != nil {
		return nil, wrap("code key", err)
	}
	return key, nil
}
