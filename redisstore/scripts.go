package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts. Each runs atomically on the node that holds its first key.
//
// Some scripts read or write keys they did not declare in KEYS: the identity
// of a session, the sessions in an identity's session set. They build those
// keys from a key prefix passed in ARGV that carries the same hash tag as the
// declared keys (the routing key of one identity), so every key a script
// touches is in the slot of its declared keys, on the node that runs it, even
// on a cluster. Declaring them is impossible: their names are only known
// from what the script reads first, and a second round trip is what the
// scripts avoid.

// luaNow returns the server's clock in milliseconds. Expiries are kept by the
// server's clock, so decisions about them use it too.
const luaNow = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

// luaTidy drops expired members from an identity's session set (scored by
// expiry) and lets the set expire with its last session.
const luaTidy = luaNow + `
local function tidy(set)
  redis.call('ZREMRANGEBYSCORE', set, '-inf', now_ms())
  local last = redis.call('ZRANGE', set, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIREAT', set, last[2]) end
end
`

// luaDecode decodes JSON, or returns an empty table for anything that is not
// a JSON object.
const luaDecode = `
local function decode(s)
  local ok, v = pcall(cjson.decode, s)
  if ok and type(v) == 'table' then return v end
  return {}
end
`

// getSessionScript reads a session and its identity.
// KEYS[1]: the session. ARGV[1]: the start of identity keys in its tag.
// Returns nil, or {session JSON, identity JSON or nil}.
var getSessionScript = redis.NewScript(luaDecode + `
local s = redis.call('GET', KEYS[1])
if not s then return false end
local id = decode(s).identity_id
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

// luaClaimOwner returns the identity id in a claim value
// "<unix ms>:<nonce>:<identity id>".
const luaClaimOwner = `
local function owner(v) return string.match(v, '^%d+:[^:]*:(.*)$') end
`

// claimScript claims a login identifier for an identity.
// KEYS[1]: the claim. ARGV: identity id, nonce.
// Returns {state, server time (unix ms), claim value}: 'claimed' (it was
// free; the value is ours), 'own' (it was already this identity's; renewed,
// the value is ours) or 'taken' (the value is the other identity's claim).
var claimScript = redis.NewScript(luaNow + luaClaimOwner + `
local now = now_ms()
local v = redis.call('GET', KEYS[1])
local mine = now .. ':' .. ARGV[2] .. ':' .. ARGV[1]
if not v then
  redis.call('SET', KEYS[1], mine)
  return {'claimed', now, mine}
end
if owner(v) == ARGV[1] then
  redis.call('SET', KEYS[1], mine)
  return {'own', now, mine}
end
return {'taken', now, v}
`)

// takeOverScript takes over a stale claim.
// KEYS[1]: the claim. ARGV: the stale claim value, identity id, nonce, the
// minimum age of a claim that may be taken over (ms).
// Returns nil if the claim changed or is too young, else {server time, the
// new claim value}.
var takeOverScript = redis.NewScript(luaNow + `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local now = now_ms()
local at = tonumber(string.match(ARGV[1], '^(%d+):'))
if not at or now - at < tonumber(ARGV[4]) then return false end
local mine = now .. ':' .. ARGV[3] .. ':' .. ARGV[2]
redis.call('SET', KEYS[1], mine)
return {now, mine}
`)

// releaseScript removes a claim.
// KEYS[1]: the claim. ARGV: the claim value to remove, or an empty string and the
// identity id whose claim to remove.
// Returns 1 if it removed the claim.
var releaseScript = redis.NewScript(luaClaimOwner + `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v == ARGV[1] or (ARGV[1] == '' and owner(v) == ARGV[2]) then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
