package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// Login identifiers are unique across identities, but an identifier's claim
// and the identity are in different cluster slots, so no single script can
// change both. The claims follow this protocol instead:
//
//   - A claim is a key per identifier whose value is
//     "<server time in ms>:<nonce>:<identity id>". A writer claims the
//     identifiers it adds before it writes the identity, and releases those
//     it dropped afterwards (compare-and-delete on the value it read).
//   - A claim of another identity blocks, unless it is stale: older than
//     claimLease and its identity does not hold the identifier (a crash
//     between claim and write, or between write and release). A stale claim
//     is taken over with a compare-and-set on its exact value.
//   - The identity write must happen within writeWindow of its claims (the
//     write script checks the server clock), so a claim younger than
//     claimLease may belong to a write still in flight and is never taken
//     over. Re-claiming an identifier renews the claim's time and nonce, so
//     a takeover decided on an older value fails.
//   - A failed write releases the claims it made.
//
// FindIdentityByIdentifier trusts a claim only if its identity holds the
// identifier.
const (
	claimLease  = 30 * time.Second
	writeWindow = 10 * time.Second
	// claimTries bounds the claim/takeover loop for one identifier.
	claimTries = 3
)

// claim is an identifier claim this write holds.
type claim struct {
	key   string
	value string
	at    int64 // server time of the claim, unix ms
	// made: the claim was free or taken over by this write, which releases
	// it if the write fails.
	made bool
}

// claimIdentifiers claims idents for the identity with id owner. On
// ErrDuplicateIdentifier or any error the claims it made are released.
func (s *Store) claimIdentifiers(ctx context.Context, owner string, idents []string) ([]claim, error) {
	if len(idents) == 0 {
		return nil, nil
	}
	nonce := newNonce()
	cmds := make([]*redis.Cmd, len(idents))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ident := range idents {
			cmds[i] = claimScript.Eval(ctx, p, []string{s.keys.identifier(ident)}, owner, nonce)
		}
		return nil
	})
	var claims []claim
	if err != nil {
		// Some claims may have been made: release what answered.
		for i, cmd := range cmds {
			if c, state, err := parseClaim(s.keys.identifier(idents[i]), cmd); err == nil && state == "claimed" {
				claims = append(claims, c)
			}
		}
		s.releaseMade(ctx, claims)
		return nil, wrap("claim identifiers", err)
	}
	for i, cmd := range cmds {
		c, state, err := parseClaim(s.keys.identifier(idents[i]), cmd)
		if err == nil && state == "taken" {
			c, err = s.resolveTaken(ctx, owner, idents[i], c, nonce)
		}
		if err != nil {
			s.releaseMade(ctx, claims)
			return nil, err
		}
		claims = append(claims, c)
	}
	return claims, nil
}

// resolveTaken decides about an identifier claimed by another identity:
// ErrDuplicateIdentifier, or the claim taken over when it is stale.
func (s *Store) resolveTaken(ctx context.Context, owner, ident string, theirs claim, nonce string) (claim, error) {
	for range claimTries {
		at, holder, ok := parseClaimValue(theirs.value)
		if ok && theirs.at-at < claimLease.Milliseconds() {
			return claim{}, identity.ErrDuplicateIdentifier // maybe a write in flight
		}
		if ok {
			held, err := s.holds(ctx, holder, ident)
			if err != nil {
				return claim{}, err
			}
			if held {
				return claim{}, identity.ErrDuplicateIdentifier
			}
		}
		res, err := takeOverScript.Run(ctx, s.client, []string{theirs.key},
			theirs.value, owner, nonce, claimLease.Milliseconds()).Slice()
		if err == nil {
			c := claim{key: theirs.key, made: true}
			c.at, _ = res[0].(int64)
			c.value, _ = res[1].(string)
			return c, nil
		}
		if !errors.Is(err, redis.Nil) {
			return claim{}, wrap("take over identifier", err)
		}
		// The claim changed meanwhile: look again.
		mine, state, err := parseClaim(theirs.key, claimScript.Run(ctx, s.client, []string{theirs.key}, owner, nonce))
		if err != nil || state != "taken" {
			return mine, err
		}
		theirs = mine
	}
	return claim{}, identity.ErrDuplicateIdentifier
}

// holds reports whether the identity with this id exists and holds the
// (lower-cased) identifier.
func (s *Store) holds(ctx context.Context, identityID, ident string) (bool, error) {
	id, err := s.GetIdentity(ctx, identityID)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return slices.Contains(lowerIdentifiers(id.Identifiers()), ident), nil
}

// releaseMade releases the claims a failed write made. It is best effort: a
// claim left behind is stale and taken over after claimLease.
func (s *Store) releaseMade(ctx context.Context, claims []claim) {
	var made []claim
	for _, c := range claims {
		if c.made {
			made = append(made, c)
		}
	}
	s.release(ctx, made)
}

// release removes claims if they still have the value seen. It is best
// effort, like releaseMade.
func (s *Store) release(ctx context.Context, claims []claim) {
	if len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range claims {
			releaseScript.Eval(ctx, p, []string{c.key}, c.value, "")
		}
		return nil
	})
}

// readClaims returns the current claims of idents (for a later release).
func (s *Store) readClaims(ctx context.Context, idents []string) ([]claim, error) {
	if len(idents) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(idents))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ident := range idents {
			cmds[i] = p.Get(ctx, s.keys.identifier(ident))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap("read identifiers", err)
	}
	var claims []claim
	for i, cmd := range cmds {
		if v, err := cmd.Result(); err == nil {
			claims = append(claims, claim{key: s.keys.identifier(idents[i]), value: v})
		}
	}
	return claims, nil
}

// claimsOf returns the claims whose identity is owner.
func claimsOf(claims []claim, owner string) []claim {
	var out []claim
	for _, c := range claims {
		if _, holder, ok := parseClaimValue(c.value); ok && holder == owner {
			out = append(out, c)
		}
	}
	return out
}

// deadline returns the time by which a write relying on claims must happen
// (unix ms; 0 without claims).
func deadline(claims []claim) int64 {
	var d int64
	for _, c := range claims {
		if end := c.at + writeWindow.Milliseconds(); d == 0 || end < d {
			d = end
		}
	}
	return d
}

// parseClaim reads the answer of claimScript.
func parseClaim(key string, cmd *redis.Cmd) (claim, string, error) {
	res, err := cmd.Slice()
	if err != nil {
		return claim{}, "", wrap("claim identifier", err)
	}
	if len(res) != 3 {
		return claim{}, "", fmt.Errorf("redisstore: claim identifier: unexpected answer %v", res)
	}
	state, _ := res[0].(string)
	at, _ := res[1].(int64)
	value, _ := res[2].(string)
	return claim{key: key, value: value, at: at, made: state == "claimed"}, state, nil
}

// parseClaimValue splits a claim value "<ms>:<nonce>:<identity id>".
func parseClaimValue(v string) (at int64, identityID string, ok bool) {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) != 3 {
		return 0, "", false
	}
	at, err := strconv.ParseInt(parts[0], 10, 64)
	return at, parts[2], err == nil && parts[2] != ""
}

// lowerIdentifiers returns idents lower-cased, without repeats, in order.
// The service hands over normalised identifiers (schema.NormalizeIdentifier),
// which lower-casing leaves alone; the store's own rule stays
// case-insensitive for every caller, as the contract suite wants.
func lowerIdentifiers(idents []string) []string {
	out := make([]string, 0, len(idents))
	for _, ident := range idents {
		if l := strings.ToLower(ident); !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// newNonce returns a random nonce for claim values.
func newNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// The keys and scripts of these records.

// identifier is the key of the claim of a (lower-cased) login identifier.
func (k keys) identifier(identifier string) string {
	sum := sha256.Sum256([]byte(identifier))
	h := hex.EncodeToString(sum[:])
	return k.tag("i:"+h[:8]) + "identifier:" + h
}

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
