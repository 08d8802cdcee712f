package passwords

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/seed06f30684/caddy-kratos/text"
)

// Password policy.
const (
	minPasswordLength = 8
	// maxPasswordBytes is bcrypt's limit; longer passwords are refused
	// rather than silently truncated.
	maxPasswordBytes = 72
	// BcryptCost is the work factor of new password hashes.
	BcryptCost = 10
)

// Bounds of the hashes we verify, as Kratos has them: an imported hash
// beyond them is refused at import, and never computed at login, where it
// would take minutes or terabytes.
const (
	MaxBcryptCost      = 15
	MaxArgon2Memory    = 1 << 20 // KiB: 1 GiB
	MaxArgon2Time      = 10
	MaxArgon2Threads   = 16
	maxArgon2KeyLength = 256
	maxArgon2SaltLen   = 256
)

// argon2Params is the parameter part of a PHC argon2id hash, strictly.
var argon2Params = regexp.MustCompile(`^m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,3})$`)

// hashPassword returns a bcrypt hash of the password.
func Hash(password string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

// checkPassword reports whether password matches a bcrypt or argon2id hash.
func Check(hash, password string) bool {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if c, err := bcrypt.Cost([]byte(hash)); err != nil || c > MaxBcryptCost {
			return false
		}
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	case strings.HasPrefix(hash, "$argon2id$"):
		ok, _ := CheckArgon2id(hash, password)
		return ok
	}
	return false
}

// dummyHashes holds, per bcrypt cost, the hash compared against when an
// identifier is unknown, so a failed login costs the same time whether or
// not the identifier exists (see dummyHash).
var dummyHashes sync.Map // int → string

// dummyHash is a bcrypt hash at cost of a password nobody has. A login
// rehashes every credential to the configured cost (Service.upgradeHash),
// so comparing unknown identifiers at that cost, rather than a fixed
// one, is what makes them cost the same as known ones.
func Dummy(cost int) string {
	if h, ok := dummyHashes.Load(cost); ok {
		return h.(string)
	}
	h, err := Hash("not a real password, only for timing", cost)
	if err != nil { // a cost above bcrypt.MaxCost: nothing can be hashed
		h, _ = Hash("not a real password, only for timing", BcryptCost)
	}
	actual, _ := dummyHashes.LoadOrStore(cost, h)
	return actual.(string)
}

// hashUpToDate reports whether a stored hash is what hashPassword makes
// today at cost: bcrypt at that cost (which bcrypt raises to its default
// when it is below its minimum).
func UpToDate(hash string, cost int) bool {
	if cost < bcrypt.MinCost {
		cost = bcrypt.DefaultCost
	}
	c, err := bcrypt.Cost([]byte(hash))
	return err == nil && c == cost
}

// parseArgon2id reads a PHC argon2id hash:
// $argon2id$v=19$m=65536,t=3,p=4$<salt b64>$<hash b64>.
func ParseArgon2id(hash string) (m, t uint32, p uint8, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" {
		return 0, 0, 0, nil, nil, errors.New("not an argon2id v19 hash")
	}
	ps := argon2Params.FindStringSubmatch(parts[3])
	if ps == nil {
		return 0, 0, 0, nil, nil, errors.New("bad argon2id parameters")
	}
	mm, _ := strconv.ParseUint(ps[1], 10, 64)
	tt, _ := strconv.ParseUint(ps[2], 10, 64)
	pp, _ := strconv.ParseUint(ps[3], 10, 64)
	if mm == 0 || tt == 0 || pp == 0 || mm > MaxArgon2Memory || tt > MaxArgon2Time || pp > MaxArgon2Threads {
		return 0, 0, 0, nil, nil, fmt.Errorf("argon2id parameters beyond m=%d,t=%d,p=%d", MaxArgon2Memory, MaxArgon2Time, MaxArgon2Threads)
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) > maxArgon2SaltLen {
		return 0, 0, 0, nil, nil, errors.New("bad argon2id salt")
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) == 0 || len(key) > maxArgon2KeyLength {
		return 0, 0, 0, nil, nil, errors.New("bad argon2id hash")
	}
	return uint32(mm), uint32(tt), uint8(pp), salt, key, nil
}

func CheckArgon2id(hash, password string) (bool, error) {
	m, t, p, salt, key, err := ParseArgon2id(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// ValidImported reports whether an imported hash is one we can verify:
// bcrypt up to MaxBcryptCost, argon2id within the MaxArgon2 bounds.
func ValidImported(hash string) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		_, _, _, _, _, err := ParseArgon2id(hash)
		return err == nil
	}
	c, err := bcrypt.Cost([]byte(hash))
	return err == nil && c <= MaxBcryptCost
}

// passwordPolicy returns the message for a password that may not be used,
// or nil. identifiers are the identity's login identifiers.
func Policy(password string, identifiers []string) *text.Message {
	if n := utf8.RuneCountInString(password); n < minPasswordLength {
		m := text.PasswordTooShort(minPasswordLength, n)
		return &m
	}
	if n := len(password); n > maxPasswordBytes {
		m := text.PasswordTooLong(maxPasswordBytes, n)
		return &m
	}
	for _, id := range identifiers {
		if tooSimilar(strings.ToLower(id), strings.ToLower(password)) {
			m := text.PasswordTooSimilar()
			return &m
		}
	}
	return nil
}

// tooSimilar reports whether the longest common substring of identifier
// and password covers at least half of either.
func tooSimilar(identifier, password string) bool {
	if identifier == "" {
		return false
	}
	n := longestCommonSubstring(identifier, password)
	return 2*n >= len(password) || 2*n >= len(identifier)
}

func longestCommonSubstring(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	best := 0
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				best = max(best, cur[j])
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	return best
}
