package schema

import (
	"net/url"
	"os"
	"testing"
)

// FuzzCompile compiles fuzzed identity schemas, as a configuration may hold
// any document, and uses each one that compiles on a few traits. Nothing
// may panic: Compile refuses what it cannot use with an error, and a
// schema it accepts serves every request.
func FuzzCompile(f *testing.F) {
	for _, name := range []string{"seed", "modern", "v2020"} {
		raw, err := os.ReadFile("testdata/" + name + ".schema.json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, doc := range []string{
		`{}`, `true`, `[]`, `{"type":"object"} {}`, `{"type":"object","properties":{"email":{"type":"strnig"}}}`,
		`{"type":"object","properties":{"email":{"$ref":"#/definitions/nothing"}}}`,
		`{"properties":{"traits":{"$ref":"file:///etc/passwd"}}}`,
		`{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"n":{"$ref":"#/$defs/n"}},"properties":{"traits":{"$ref":"#/$defs/n"}}}`,
		`{"definitions":{"a":{"type":"object","properties":{"b":{"$ref":"#/definitions/a"}}}},"properties":{"traits":{"$ref":"#/definitions/a"}}}`,
		`{"properties":{"traits":{"type":"object","properties":{"x.y":{"type":"array","items":[{"type":"number"},{"type":"boolean"}]}}}}}`,
		`{"properties":{"traits":{"type":"object","patternProperties":{"^a":{"type":"integer"}},"additionalProperties":{"type":"string"}}}}`,
		`{"properties":{"traits":{"anyOf":[{"type":"object","properties":{"a":{"type":"string","ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}}}},{"type":"string"}]}}}`,
		`{"type":"object","properties":{"email":{"type":"string","ory.sh/kratos":{"credentials":{"password":{"identifier":true}},"verification":{"via":"email"},"recovery":{"via":"sms"}}}}}`,
		`{"properties":{"traits":{"type":"object","properties":{"n":{"type":"number","multipleOf":1e-300,"minimum":-1e308,"enum":[1,"1",null]}}}}}`,
	} {
		f.Add([]byte(doc))
	}
	form := url.Values{"traits.email": {"a@example.org"}, "traits.a": {"1", "x"}, "traits.x.y.0": {"2"}, "traits.n": {"1e-3"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Compile("default", "fuzz", raw)
		if err != nil {
			if s != nil {
				t.Fatalf("Compile returned a schema and the error %v", err)
			}
			return
		}
		_ = s.Fields()
		for _, traits := range []any{
			map[string]any{}, nil, "x", []any{1.0, "a"},
			decode(t, `{"email":"a@example.org","name":{"first":"Ada","last":"L"},"a":[1,{"b":null}],"n":1.5,"x.y":[1,true]}`),
		} {
			_ = s.Validate(traits)
			_ = s.Identifiers(traits)
			_, _ = s.Addresses(traits)
			_ = s.Compare(traits, map[string]any{"email": "b@example.org"})
		}
		if traits, err := s.TraitsFromForm(form); err == nil {
			_ = s.Validate(traits)
		}
	})
}
