// Package testenv is what the unit tests of the flows, the admin API and
// the stores share: one settable clock that a test moves instead of
// sleeping, the identity schema most tests use, and a memory store on
// that clock. It is imported by tests only.
package testenv

import (
	"sync"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/memstore"
	"github.com/seed06f30684/caddy-kratos/schema"
)

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

// Schema compiles an identity schema for a test, under the id "default".
func Schema(t testing.TB, schemaJSON string) *schema.Schema {
	t.Helper()
	sch, err := schema.Compile("default", "test", []byte(schemaJSON))
	if err != nil {
		t.Fatalf("compile the test schema: %v", err)
	}
	return sch
}
