package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// fuzzSchemas are the test schemas the decoders are fuzzed against: the
// legacy shape, the modern one with $ref and allOf, and a 2020-12 one with
// numbers, booleans, arrays and readOnly traits.
func fuzzSchemas(f *testing.F) []*Schema {
	return []*Schema{testSchema(f, "seed"), testSchema(f, "modern"), testSchema(f, "v2020")}
}

// useTraits does with decoded traits what the flows do: validate them,
// list identifiers and addresses, compare them with themselves and with
// nothing, and marshal them. None of it may panic.
func useTraits(t *testing.T, s *Schema, traits map[string]any) {
	t.Helper()
	_ = s.Validate(traits)
	_ = s.Identifiers(traits)
	_, _ = s.Addresses(traits)
	if c := s.Compare(traits, deepCopy(traits)); c.Protected() || len(c.ReadOnly) > 0 {
		t.Fatalf("traits %v differ from a copy of themselves: %+v", traits, c)
	}
	_ = s.Compare(map[string]any{}, traits)
	if _, err := json.Marshal(traits); err != nil {
		t.Fatalf("traits %v do not marshal: %v", traits, err)
	}
}

// FuzzTraitsFromForm decodes fuzzed form bodies. Nothing panics; the only
// error is a *NumberError for a traits field; otherwise the traits are a
// non-nil object of finite numbers; keys outside "traits." change nothing;
// and the traits can be validated, compared and marshaled.
func FuzzTraitsFromForm(f *testing.F) {
	for _, q := range []string{
		"", "csrf_token=x&method=profile",
		"traits.email=a%40example.org&traits.age=42&traits.score=-2.5e1&traits.newsletter=false&traits.newsletter=true",
		"traits.newsletter=on", "traits.age=forty&traits.score=0x10&traits.newsletter=maybe",
		"traits.email=&traits.plan=&traits.age=&traits.newsletter=&traits.address.city=&traits.tags=",
		"traits.tags=a&traits.tags=b&traits.tags.5=z&traits.tags.0=y&traits.tags.00=x&traits.tags.-1=w",
		"traits.lucky=1&traits.lucky=1e400", "traits.lucky.0=-1e999", "traits.flags=on&traits.flags=0&traits.flags=maybe",
		"traits.age=%201e2%20", "traits.age=1e-400", "traits.score=" + strings.Repeat("9", 400),
		"traits.address=x&traits.address.city=Berlin", "traits.address.city=Berlin&traits.address=x",
		"traits.name.first=Ada&traits.name=x", "traits.name\\.first=Ada", "traits.a\\.b.c=1&traits.a\\.b=2",
		"traits.=1", "traits..=1", "traits.\\=1", "traits.\\.=1", "traits.x.=1&traits.x=2", "traits.unknown=a&traits.unknown=b",
		"traits.emails=a%40example.org&traits.emails=A%40example.org", "traits.role=member", "traits.phone=%2B49123456",
		"traits.tags.99999999999999999999=x", "traits.tags.1=&traits.tags.2=b", "a=%zz&traits.age=1", "traits.email;x=1",
	} {
		for i := range 3 {
			f.Add(q, uint8(i))
		}
	}
	schemas := fuzzSchemas(f)
	f.Fuzz(func(t *testing.T, query string, which uint8) {
		s := schemas[int(which)%len(schemas)]
		form, _ := url.ParseQuery(query) // what parses, as net/http keeps it
		traits, err := s.TraitsFromForm(form)
		if err != nil {
			var ne *NumberError
			if !errors.As(err, &ne) || !strings.HasPrefix(ne.Field, "traits.") || ne.Number == "" {
				t.Fatalf("TraitsFromForm(%q): error %#v, want a *NumberError for a trait", query, err)
			}
			if traits != nil {
				t.Fatalf("TraitsFromForm(%q) returned traits and the error %v", query, err)
			}
			return
		}
		if traits == nil {
			t.Fatalf("TraitsFromForm(%q): nil traits", query)
		}
		if err := CheckNumbers(traits); err != nil {
			t.Fatalf("TraitsFromForm(%q): %v", query, err)
		}
		only := url.Values{}
		for k, v := range form {
			if strings.HasPrefix(k, formPrefix) {
				only[k] = v
			}
		}
		if again, err := s.TraitsFromForm(only); err != nil || !reflect.DeepEqual(again, traits) {
			t.Fatalf("TraitsFromForm(%q) = %v, without the other keys %v, %v", query, traits, again, err)
		}
		useTraits(t, s, traits)
	})
}

// FuzzTraitsFromJSON decodes the traits of fuzzed JSON bodies. Nothing
// panics; an error is a "traits" member that is not an object or a trait
// given twice; otherwise the traits are a non-nil object that shares
// nothing with the body (changing them leaves the body as it was), and can
// be validated, compared and marshaled.
func FuzzTraitsFromJSON(f *testing.F) {
	for _, b := range []string{
		`{}`, `{"traits":{"email":"a@example.org","name":{"first":"Alice"}},"method":"profile"}`,
		`{"traits.email":"a@example.org","traits.name.first":"Alice","csrf_token":"x"}`,
		`{"traits":{"email":"a@example.org","name":{"last":"Smith"}},"traits.name.first":"Alice"}`,
		`{"traits":{"name.first":"Alice","name":{"last":"Smith"}}}`,
		`{"traits":{"age":"42","n":42,"b":"true","l":[1,"x"],"z":null}}`,
		`{"traits":"x"}`, `{"traits":null}`, `{"traits":[]}`,
		`{"traits":{"email":"a@example.org"},"traits.email":"b@example.org"}`,
		`{"traits":{"name":"x"},"traits.name.first":"y"}`, `{"traits":{"name":{"first":"x"},"name.first":"y"}}`,
		`{"traits":{"name":{"first":"x"}},"traits.name":{"last":"y"}}`, `{"traits.name":{"a":{"b":1}},"traits.name.a":{"c":2}}`,
		`{"traits":{"a\\.b":1,"a.b":2}}`, `{"traits.":1,"traits..":2}`, `{"traits":{"":1,".":2}}`,
		`{"traits":{"tags":["ab","ab"],"lucky":[1,1.0,1e0],"age":17.5,"score":0.25,"address":{"city":"Berlin"},"plan":"pro"}}`,
		`{"traits":{"emails":["A@example.org","a@example.org"],"phone":"+49123456","role":"admin"}}`,
		`{"traits":{"age":1e-400,"lucky":[123456789012345678901234567890]}}`,
	} {
		for i := range 3 {
			f.Add([]byte(b), uint8(i))
		}
	}
	schemas := fuzzSchemas(f)
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		s := schemas[int(which)%len(schemas)]
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var body map[string]any
		if err := dec.Decode(&body); err != nil || body == nil || CheckNumbers(body) != nil {
			return
		}
		before, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("marshal the body: %v", err)
		}
		traits, err := s.TraitsFromJSON(body)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "traits must be a JSON object, not ") && !strings.HasSuffix(msg, " is given more than once") {
				t.Fatalf("TraitsFromJSON(%s): unexpected error %v", raw, err)
			}
			return
		}
		if traits == nil {
			t.Fatalf("TraitsFromJSON(%s): nil traits", raw)
		}
		useTraits(t, s, traits)
		scribble(traits)
		if after, _ := json.Marshal(body); !bytes.Equal(after, before) {
			t.Fatalf("changing the traits of %s changed the body to %s", before, after)
		}
	})
}

// scribble changes every object and array in v.
func scribble(v any) {
	switch n := v.(type) {
	case map[string]any:
		for k, e := range n {
			scribble(e)
			n[k] = "scribbled"
		}
		n["scribbled"] = true
	case []any:
		for i, e := range n {
			scribble(e)
			n[i] = "scribbled"
		}
	}
}
