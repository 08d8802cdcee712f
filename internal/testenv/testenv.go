// Package testenv is what the unit tests of the flows, the admin API and
// the stores share: one settable clock that a test moves instead of
// sleeping, the identity schema most tests use, a memory store on that
// clock, and requests recorded against a handler (http.go). It is imported
// by tests only; it cannot import flows or admin, whose own tests import it.
package testenv

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/seed06f30684/caddy-kratos/memstore"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// Start is where the clocks of the flows' and the admin API's tests stand
// at first.
var Start = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// Clock is a clock the tests move by hand, shared by the code under test
// and its store.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that stands at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock d ahead.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Store is a new memory store on clock c.
func (c *Clock) Store() *memstore.Store { return memstore.NewWithClock(c.Now) }

// PersonSchema is the identity schema most unit tests use: an email login
// identifier (also verifiable and recoverable), a name, an age and tags.
const PersonSchema = `{
  "$id": "https://schemas.example.com/admin-test.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "title": "E-Mail",
          "ory.sh/kratos": {
            "credentials": {"password": {"identifier": true}},
            "verification": {"via": "email"},
            "recovery": {"via": "email"}
          }
        },
        "name": {
          "type": "object",
          "properties": {
            "first": {"type": "string", "minLength": 2},
            "last": {"type": "string"}
          }
        },
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}}
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}`

// PhoneSchema has an email and a phone number (format "tel") login
// identifier, either one enough, and an integer trait.
const PhoneSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string", "format": "email",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "email"}}
        },
        "phone": {
          "type": "string", "format": "tel",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "sms"}}
        },
        "age": {"type": "integer"}
      },
      "additionalProperties": false
    }
  }
}`

// schemas holds the compiled schemas by their JSON: a Schema is immutable
// and safe for concurrent use, and compiling one per test is slow.
var schemas sync.Map

// Schema is an identity schema compiled under the id "default". It panics
// when schemaJSON does not compile: a test's schema is a constant.
func Schema(schemaJSON string) *schema.Schema {
	if sch, ok := schemas.Load(schemaJSON); ok {
		return sch.(*schema.Schema)
	}
	sch, err := schema.Compile("default", "test", []byte(schemaJSON))
	if err != nil {
		panic(fmt.Sprintf("compile the test schema: %v", err))
	}
	schemas.Store(schemaJSON, sch)
	return sch
}

// Argon2idHash is an argon2id hash of password, as another system made it
// (an import).
func Argon2idHash(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, 1, 8*1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", 8*1024, 1, 1,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}
