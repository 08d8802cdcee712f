package passwords

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Bounds on the work a fuzzed hash may ask Check for. Check runs argon2id
// with the hash's own parameters: m KiB of memory (up to 4 TiB for
// m=4294967295), t passes (up to 2^32-1) and p lanes, and bcrypt with the
// hash's cost (2^31 rounds at cost 31). A stored or imported hash with large
// parameters therefore makes every login attempt for it allocate or spin
// without limit: a known problem, tracked as a separate hardening issue, not
// fixed here. The fuzz targets only call Check within these bounds.
const (
	maxFuzzArgon2Memory  = 64 // KiB
	maxFuzzArgon2Time    = 2
	maxFuzzArgon2Threads = 4
	maxFuzzArgon2KeyLen  = 128
	maxFuzzBcryptCost    = bcrypt.MinCost + 1
)

// argon2Hash is a PHC argon2id hash of password.
func argon2Hash(password string, salt []byte, m, t uint32, p uint8, keyLen uint32) string {
	key := argon2.IDKey([]byte(password), salt, t, m, p, keyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// FuzzArgon2id parses fuzzed argon2id hashes and checks passwords against
// them: no panic; what ParseArgon2id accepts has non-zero parameters and a
// key, and prints back to a hash that parses to the same; ValidImported
// agrees with it; and a hash made of the fuzzed password matches it and
// nothing else.
func FuzzArgon2id(f *testing.F) {
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "dGhpcyBpcyBub3QgYSByZWFsIGtleSwganVzdCBieXRlcw"
	for _, h := range []string{
		argon2Hash("a long enough secret", []byte("somesaltsomesalt"), 16, 1, 1, 32),
		argon2Hash("", nil, 8, 1, 1, 16),
		"$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$" + key, // Kratos' defaults, too big to Check
		"$argon2id$v=19$m=16,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=16,t=1,p=1$$" + key,
		"$argon2id$v=19$m=16,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=16,t=1,p=1$" + salt + "=$" + key,
		"$argon2id$v=19$m=16,t=1,p=1$!!$" + key,
		"$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=16,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=16,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=16,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=-1,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+16,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=16,t=1,p=1x$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=16,p=1$" + salt + "$" + key,
		"$argon2id$v=18$m=16,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=16,t=1,p=1$" + salt + "$" + key,
		"$argon2i$v=19$m=16,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=16,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2id$", "$argon2id$$$$$", "",
		"$2a$04$abcdefghijklmnopqrstuuPn1eGTfYF7uC0YMUl3KE6IWRNDNJ9K.", "$2b$10$", "$2y$31$",
	} {
		f.Add(h, "a long enough secret")
	}
	f.Fuzz(func(t *testing.T, hash, password string) {
		m, tm, p, salt, key, err := ParseArgon2id(hash)
		if strings.HasPrefix(hash, "$argon2id$") && ValidImported(hash) != (err == nil) {
			t.Fatalf("ValidImported(%q) = %v, but ParseArgon2id: %v", hash, err != nil, err)
		}
		if err == nil {
			if m == 0 || tm == 0 || p == 0 || len(key) == 0 {
				t.Fatalf("ParseArgon2id(%q) accepted m=%d t=%d p=%d key %x", hash, m, tm, p, key)
			}
			again := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tm, p,
				base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
			m2, t2, p2, salt2, key2, err := ParseArgon2id(again)
			if err != nil || m2 != m || t2 != tm || p2 != p || string(salt2) != string(salt) || string(key2) != string(key) {
				t.Fatalf("ParseArgon2id(%q) printed as %q parses differently: %v", hash, again, err)
			}
			if m <= maxFuzzArgon2Memory && tm <= maxFuzzArgon2Time && p <= maxFuzzArgon2Threads && len(key) <= maxFuzzArgon2KeyLen {
				ok := Check(hash, password)
				want := argon2Hash(password, salt, m, tm, p, uint32(len(key))) == again
				if ok != want {
					t.Fatalf("Check(%q, %q) = %v, want %v", hash, password, ok, want)
				}
			}
		}
		if strings.HasPrefix(hash, "$2") {
			if cost, err := bcrypt.Cost([]byte(hash)); err == nil && cost <= maxFuzzBcryptCost {
				_ = Check(hash, password)
			}
			_ = UpToDate(hash, BcryptCost)
		} else if !strings.HasPrefix(hash, "$argon2id$") && Check(hash, password) {
			t.Fatalf("Check(%q, %q) = true for a hash of no known kind", hash, password)
		}

		// A hash of this password, with a salt and parameters from the input.
		s := []byte(hash)
		if len(s) > 32 {
			s = s[:32]
		}
		mine := argon2Hash(password, s, 8+uint32(len(password)%8), 1, 1+uint8(len(hash)%2), 16)
		if !ValidImported(mine) || !Check(mine, password) {
			t.Fatalf("Check(%q, %q) = false for the password's own hash", mine, password)
		}
		if Check(mine, password+"x") || Check(mine, strings.ToUpper(password)) && strings.ToUpper(password) != password {
			t.Fatalf("Check(%q) matches another password than %q", mine, password)
		}
	})
}

// FuzzPolicy checks the password policy on fuzzed passwords and
// identifiers: a password it allows has at least 8 characters, at most 72
// bytes and shares less than half of itself with the identifier; a
// refusal is one of Kratos' three messages.
func FuzzPolicy(f *testing.F) {
	for _, s := range [][2]string{
		{"a long enough secret", "ada@example.com"}, {"short", "ada@example.com"}, {"ada@example.com", "ada@example.com"},
		{"ADA@example.com!!", "ada@example.com"}, {strings.Repeat("x", 73), "ada"}, {strings.Repeat("é", 36), ""},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "x"}, {"passwordpassword", ""}, {"12345678", "1234"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, password, identifier string) {
		msg := Policy(password, []string{identifier})
		if msg == nil {
			if utf8.RuneCountInString(password) < minPasswordLength || len(password) > maxPasswordBytes {
				t.Fatalf("Policy(%q) allowed a password of %d characters, %d bytes", password, utf8.RuneCountInString(password), len(password))
			}
			if identifier != "" && strings.Contains(strings.ToLower(password), strings.ToLower(identifier)) && 2*len(strings.ToLower(identifier)) >= len(strings.ToLower(password)) {
				t.Fatalf("Policy(%q) allowed a password that is mostly the identifier %q", password, identifier)
			}
			return
		}
		switch msg.ID {
		case 4000031, 4000032, 4000033:
		default:
			t.Fatalf("Policy(%q, %q): message %d %q", password, identifier, msg.ID, msg.Text)
		}
	})
}
