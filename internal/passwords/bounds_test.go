package passwords

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestImportedHashBounds: hashes beyond Kratos' bounds are refused at
// import and never computed at login; malformed parameters are refused.
func TestImportedHashBounds(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	argon := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	cheap, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	withCost := func(c int) string { return strings.Replace(string(cheap), "$04$", fmt.Sprintf("$%02d$", c), 1) }

	for hash, valid := range map[string]bool{
		argon("m=65536,t=3,p=4"):      true,
		argon("m=1048576,t=10,p=16"):  true,  // the bounds themselves
		argon("m=1048577,t=1,p=1"):    false, // over 1 GiB
		argon("m=4294967295,t=1,p=1"): false,
		argon("m=65536,t=11,p=1"):     false,
		argon("m=65536,t=1,p=17"):     false,
		argon("m=65536,t=1,p=1x"):     false, // trailing junk
		argon("m= 16,t=1,p=1"):        false,
		argon("m=65536,t=1,p=1,q=9"):  false,
		argon("m=0,t=1,p=1"):          false,
		withCost(bcrypt.MinCost):      true,
		withCost(MaxBcryptCost):       true,
		withCost(MaxBcryptCost + 1):   false,
		withCost(31):                  false,
		"$2a$04$tooshort":             false,
		"plain text":                  false,
	} {
		if got := ValidImported(hash); got != valid {
			t.Errorf("ValidImported(%q) = %v, want %v", hash, got, valid)
		}
	}
	// At login a hash beyond the bounds is a failed login, at once: a cost
	// of 31 would take days to compare.
	if Check(withCost(31), "secret") {
		t.Error("Check accepted a bcrypt cost of 31")
	}
	if Check(argon("m=4294967295,t=4294967295,p=1"), "secret") {
		t.Error("Check accepted an argon2id hash beyond the bounds")
	}
	if !Check(string(cheap), "secret") {
		t.Error("Check refused a good hash")
	}
}
