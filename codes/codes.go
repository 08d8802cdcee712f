package codes

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// Length is how many digits a code has, as in Kratos.
const Length = 6

// MaxSubmits is how many code submissions a flow allows, right or wrong,
// as Kratos (which has no setting for it); the next one closes the flow.
const MaxSubmits = 5

// decoyHash is the hash of a code sent to an unknown address: no HMAC is
// ever this, so nothing matches it.
const decoyHash = "-"

// Generate returns a new code: Length random decimal digits.
func Generate() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	s := n.String()
	return strings.Repeat("0", Length-len(s)) + s, nil
}

// Codes issues and checks the codes of flows, kept in a store.
type Codes struct {
	store identity.Codes
	// secrets are the site's keys, the first for new codes, all of them
	// tried on use (so a key can be rotated); none: the store's key.
	secrets [][]byte

	mu       sync.Mutex
	storeKey []byte // the store's key, once read
}

// New returns the Codes of a store, keyed with secrets (the first hashes
// new codes; every one is tried on use) or, without any, with the store's
// own random key.
func New(store identity.Codes, secrets [][]byte) *Codes {
	return &Codes{store: store, secrets: secrets}
}

// keys are the keys in use, the one for new codes first.
func (c *Codes) keys(ctx context.Context) ([][]byte, error) {
	if len(c.secrets) > 0 {
		return c.secrets, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.storeKey == nil {
		k, err := c.store.CodeKey(ctx)
		if err != nil {
			return nil, err
		}
		c.storeKey = k
	}
	return [][]byte{c.storeKey}, nil
}

// hash is the stored form of a code of a flow.
func hash(key []byte, flowID, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(flowID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// Issue makes a new code for the flow, sent to address of the identity,
// valid until expiresAt, and stores its hash in place of the flow's earlier
// code. keepUntil is when the store may forget it (the flow's).
func (c *Codes) Issue(ctx context.Context, flowID, identityID, address string, expiresAt, keepUntil time.Time) (string, error) {
	code, err := Generate()
	if err != nil {
		return "", err
	}
	keys, err := c.keys(ctx)
	if err != nil {
		return "", err
	}
	rec := &identity.Code{FlowID: flowID, IdentityID: identityID, Address: address, Hash: hash(keys[0], flowID, code), ExpiresAt: expiresAt}
	return code, c.store.SaveCode(ctx, rec, keepUntil)
}

// Decoy does what Issue does for an address nobody has, so that the answer
// and its timing do not tell: a code is made and hashed, and a record is
// stored in place of the flow's earlier code, which no code matches.
func (c *Codes) Decoy(ctx context.Context, flowID string, expiresAt, keepUntil time.Time) error {
	code, err := Generate()
	if err != nil {
		return err
	}
	keys, err := c.keys(ctx)
	if err != nil {
		return err
	}
	_ = hash(keys[0], flowID, code)
	return c.store.SaveCode(ctx, &identity.Code{FlowID: flowID, Hash: decoyHash, ExpiresAt: expiresAt}, keepUntil)
}

// Use counts a code submission to the flow and checks the code; see
// identity.Codes.UseCode for the errors. A code that is not Length digits
// counts as a submission and is invalid.
func (c *Codes) Use(ctx context.Context, flowID, code string, now, keepUntil time.Time) (*identity.Code, error) {
	code = strings.TrimSpace(code)
	keys, err := c.keys(ctx)
	if err != nil {
		return nil, err
	}
	hashes := make([]string, 0, len(keys))
	if wellFormed(code) {
		for _, k := range keys {
			hashes = append(hashes, hash(k, flowID, code))
		}
	}
	rec, err := c.store.UseCode(ctx, flowID, hashes, now, keepUntil, MaxSubmits)
	if err == nil && rec.IdentityID == "" {
		// A decoy cannot match; a store that says so is broken.
		return nil, errors.New("codes: a decoy code matched")
	}
	return rec, err
}

// wellFormed reports whether s is Length decimal digits.
func wellFormed(s string) bool {
	if len(s) != Length {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
