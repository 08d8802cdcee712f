package redisstore

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

// luaClaimOwner returns the identity id in a claim value
// "<unix ms>:<nonce>:<identity id>".
const luaClaimOwner = `
local function owner(v) return string.match(v, '^%d+:[^:]*:(.*)$') end
`
