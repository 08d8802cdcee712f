package body

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// fuzzSchemaDoc is a small identity schema with a trait of every kind the
// decoders type: an identifier, a nested object, a number, an integer, a
// boolean and arrays of strings and of numbers.
const fuzzSchemaDoc = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string", "format": "email", "maxLength": 320,
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "email"}}
        },
        "name": {
          "type": "object",
          "properties": {"first": {"type": "string", "minLength": 1}, "last": {"type": "string"}},
          "additionalProperties": false
        },
        "age": {"type": "integer", "minimum": 0},
        "score": {"type": "number"},
        "newsletter": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "lucky": {"type": "array", "items": {"type": "number"}}
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}`

var (
	fuzzSchemaOnce sync.Once
	fuzzSchema     *schema.Schema
	fuzzSchemaErr  error
)

func identitySchema(t testing.TB) *schema.Schema {
	t.Helper()
	fuzzSchemaOnce.Do(func() { fuzzSchema, fuzzSchemaErr = schema.Compile("default", "fuzz", []byte(fuzzSchemaDoc)) })
	if fuzzSchemaErr != nil {
		t.Fatalf("compile the identity schema: %v", fuzzSchemaErr)
	}
	return fuzzSchema
}

// want4xx fails unless err is an *apierror.Error with a 4xx code.
func want4xx(t *testing.T, what string, err error) {
	t.Helper()
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code < 400 || e.Code > 499 {
		t.Fatalf("%s: error %#v, want an *apierror.Error with a 4xx code", what, err)
	}
}

const multipartBoundary = "fuzzBoundary"

// FuzzRead reads a fuzzed body as JSON, as a form, as a multipart form and
// with a fuzzed Content-Type, and decodes the traits of what it reads
// against a small identity schema. Nothing panics; every error is a 4xx
// *apierror.Error; an accepted JSON body is one valid JSON object; and the
// traits are a JSON object that marshals and validates.
func FuzzRead(f *testing.F) {
	mp := func(parts ...string) string {
		var b strings.Builder
		for i := 0; i+1 < len(parts); i += 2 {
			b.WriteString("--" + multipartBoundary + "\r\nContent-Disposition: form-data; name=\"" + parts[i] + "\"\r\n\r\n" + parts[i+1] + "\r\n")
		}
		return b.String() + "--" + multipartBoundary + "--\r\n"
	}
	for _, s := range []string{
		// JSON bodies.
		`{"method":"password","password":"a long secret","traits":{"email":"ada@example.com","name":{"first":"Ada"}}}`,
		`{"traits.email":"ada@example.com","traits.name.first":"Ada","traits.age":36,"traits.tags":["a","b"]}`,
		`{"traits":{"email":"a@b.c","name.first":"x"},"traits.name.last":"y"}`,
		`{"traits":{"name":{"first":"x"}},"traits.name":{"last":"y"}}`,
		`{"traits":{"name":"x"},"traits.name.first":"y"}`,
		`{"traits":[1,2]}`, `{"traits":null}`, `{"traits":{"age":1e400}}`, `{"traits":{"lucky":[1,-2.5e300,1e-400]}}`,
		`{"traits":{"score":123456789012345678901234567890}}`, `{"transient_payload":{"x":[0,[9e999]]}}`,
		`{}`, `[]`, `null`, `"x"`, `1`, `{"a":1} {"b":2}`, `{"a":1}]`, `{"a":1}}`, `{"a":1} x`, `{"a":1}` + "\n\t ",
		`{"a":`, `{"a":1,"a":2}`, `{"\u0000":"\ud800"}`, "\xff\xfe{}", `{"traits.":1,"traits..":2,"traits.\\.":3}`,
		`{"traits":{"tags":"one"}}`, `{"traits":{"newsletter":"true"}}`, `{"csrf_token":1}`,
		// Forms.
		"method=password&password=a+long+secret&traits.email=ada%40example.com&traits.name.first=Ada",
		"traits.age=36&traits.score=1.5&traits.newsletter=on&traits.tags=a&traits.tags=b&traits.tags.3=d",
		"traits.age=1e400", "traits.lucky.0=1&traits.lucky.1=-1e999", "traits.age=x&traits.newsletter=maybe",
		"traits.name=x&traits.name.first=y", "traits.name\\.first=x", "traits.=1&traits..=2", "traits.tags.01=x&traits.tags.-1=y",
		"traits.tags.99999999999999999999=x", "a=%zz", "a;b=c", "=&=&", "traits.email=%00", "&&&",
		// Multipart forms.
		mp("method", "password", "traits.email", "ada@example.com", "traits.tags", "a", "traits.tags", "b"),
		mp("traits.age", "1e400"), "--" + multipartBoundary + "\r\n", "--" + multipartBoundary + "--",
		"--" + multipartBoundary + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\r\ndata\r\n--" + multipartBoundary + "--\r\n",
		"",
	} {
		f.Add([]byte(s), "", false)
	}
	f.Add([]byte(`{"traits":{"email":"a@b.c"}}`), "application/json; charset=utf-8", false)
	f.Add([]byte(`{"traits":{"email":"a@b.c"}}`), "APPLICATION/JSON", true)
	f.Add([]byte("traits.email=a"), "application/x-www-form-urlencoded;;", false)
	f.Add([]byte("a=b"), "multipart/form-data", false)
	f.Add([]byte("a=b"), "text/plain", false)
	f.Add([]byte("a=b"), "", true)

	sch := identitySchema(f)
	f.Fuzz(func(t *testing.T, raw []byte, contentType string, chunked bool) {
		for _, ct := range []string{
			"application/json",
			"application/x-www-form-urlencoded",
			"multipart/form-data; boundary=" + multipartBoundary,
			contentType,
		} {
			r := httptest.NewRequest(http.MethodPost, "/self-service/registration?flow=x", bytes.NewReader(raw))
			r.Header.Set("Content-Type", ct)
			if chunked {
				r.ContentLength = -1
			}
			b, err := Read(httptest.NewRecorder(), r)
			if err != nil {
				want4xx(t, "Read ("+ct+")", err)
				if b != nil {
					t.Fatalf("Read (%s) returned a body and the error %v", ct, err)
				}
				continue
			}
			if b == nil {
				t.Fatalf("Read (%s): no body and no error", ct)
			}
			if b.Form == nil {
				// Only a JSON body comes without a form: one valid object.
				var obj map[string]any
				if !json.Valid(raw) || json.Unmarshal(raw, &obj) != nil || obj == nil {
					t.Fatalf("Read (%s) accepted %q as a JSON object", ct, raw)
				}
				if err := schema.CheckNumbers(b.json); err != nil {
					t.Fatalf("Read (%s) accepted %q with %v", ct, raw, err)
				}
			}
			checkBody(t, sch, b)
		}
	})
}

// checkBody reads a body as the flows do.
func checkBody(t *testing.T, sch *schema.Schema, b *Body) {
	t.Helper()
	for _, key := range []string{"method", "password", "csrf_token", "traits.email"} {
		if _, err := b.Str(key); err != nil {
			want4xx(t, "Str("+key+")", err)
		}
	}
	if err := b.CheckFields("method", "password", "csrf_token", "traits", "traits.", "transient_payload"); err != nil {
		want4xx(t, "CheckFields", err)
	}
	traits, err := b.Traits(sch)
	if err != nil {
		want4xx(t, "Traits", err)
		return
	}
	if traits == nil {
		t.Fatalf("Traits: nil traits and no error")
	}
	if err := schema.CheckNumbers(traits); err != nil {
		t.Fatalf("Traits: %v", err)
	}
	if _, err := json.Marshal(traits); err != nil {
		t.Fatalf("Traits %v do not marshal: %v", traits, err)
	}
	_ = sch.Validate(traits)
	_ = sch.Identifiers(traits)
}
