package schema

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// ctx builds a message context from key, value pairs.
func ctx(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// reason is the context of a generic (4000001) message.
func reason(text string) map[string]any { return ctx("reason", text) }

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		traits string
		want   []FieldError
	}{
		// The legacy v0.1 shape (the seed's schema).
		{
			name:   "seed example",
			schema: "seed",
			traits: `{"email":"foobar@ory.sh","name":{"first":"abc","last":"Barbaz"}}`,
			want: []FieldError{{
				Field: "traits.name.first", Keyword: "minLength", ID: 4000003,
				Text:    "length must be >= 5, but got 3",
				Context: ctx("min_length", 5, "actual_length", 3),
				Legacy:  "traits.name.first: Must be at least 5 characters long",
			}},
		},
		{
			name:   "seed valid",
			schema: "seed",
			traits: `{"email":"foobar@ory.sh","name":{"first":"Foobar","last":"Barbaz"}}`,
		},
		{
			name:   "seed missing email",
			schema: "seed",
			traits: `{"name":{"first":"Foobar"}}`,
			want: []FieldError{{
				Field: "traits.email", Keyword: "required", ID: 4000002,
				Text: "Property email is missing.", Context: ctx("property", "email"),
				Legacy: "traits.email: Is required",
			}},
		},
		{
			name:   "seed nested errors are all reported",
			schema: "seed",
			traits: `{"email":"no","name":{"first":"abc","last":5}}`,
			want: []FieldError{
				{
					Field: "traits.email", Keyword: "format", ID: 4000001,
					Text: `"no" is not valid "email"`, Context: reason(`"no" is not valid "email"`),
					Legacy: "traits.email: Must be a valid email address",
				},
				{
					Field: "traits.email", Keyword: "minLength", ID: 4000003,
					Text: "length must be >= 3, but got 2", Context: ctx("min_length", 3, "actual_length", 2),
					Legacy: "traits.email: Must be at least 3 characters long",
				},
				{
					Field: "traits.name.first", Keyword: "minLength", ID: 4000003,
					Text: "length must be >= 5, but got 3", Context: ctx("min_length", 5, "actual_length", 3),
					Legacy: "traits.name.first: Must be at least 5 characters long",
				},
				{
					Field: "traits.name.last", Keyword: "type", ID: 4000026,
					Text:    "expected string, but got number",
					Context: ctx("allowed_types", []string{"string"}, "actual_type", "number"),
					Legacy:  "traits.name.last: Must be a string",
				},
			},
		},
		{
			name:   "seed unknown traits, one error each",
			schema: "seed",
			traits: `{"foo":"x","email":"foobar@ory.sh","bar":1}`,
			want: []FieldError{
				{
					Field: "traits.bar", Keyword: "additionalProperties", ID: 4000001,
					Text: `additionalProperties "bar" not allowed`, Context: reason(`additionalProperties "bar" not allowed`),
					Legacy: "traits.bar: Is not an allowed field",
				},
				{
					Field: "traits.foo", Keyword: "additionalProperties", ID: 4000001,
					Text: `additionalProperties "foo" not allowed`, Context: reason(`additionalProperties "foo" not allowed`),
					Legacy: "traits.foo: Is not an allowed field",
				},
			},
		},
		{
			name:   "seed traits not an object",
			schema: "seed",
			traits: `"me"`,
			want: []FieldError{{
				Field: "traits", Keyword: "type", ID: 4000026,
				Text:    "expected object, but got string",
				Context: ctx("allowed_types", []string{"object"}, "actual_type", "string"),
				Legacy:  "traits: Must be an object",
			}},
		},

		// The modern shape, draft-07, with $ref to definitions and allOf.
		{
			name:   "modern valid",
			schema: "modern",
			traits: `{"email":"alice@example.org","name":{"first":"Alice"},"username":"alice","phone":"+4912345678"}`,
		},
		{
			name:   "modern required lands on the missing nested field",
			schema: "modern",
			traits: `{"email":"alice@example.org","name":{"last":"Smith"},"username":"al"}`,
			want: []FieldError{
				{
					Field: "traits.name.first", Keyword: "required", ID: 4000002,
					Text: "Property first is missing.", Context: ctx("property", "first"),
					Legacy: "traits.name.first: Is required",
				},
				{
					Field: "traits.username", Keyword: "minLength", ID: 4000003,
					Text: "length must be >= 3, but got 2", Context: ctx("min_length", 3, "actual_length", 2),
					Legacy: "traits.username: Must be at least 3 characters long",
				},
			},
		},
		{
			name:   "modern several missing, in field order",
			schema: "modern",
			traits: `{}`,
			want: []FieldError{
				{
					Field: "traits.email", Keyword: "required", ID: 4000002,
					Text: "Property email is missing.", Context: ctx("property", "email"),
					Legacy: "traits.email: Is required",
				},
				{
					Field: "traits.name", Keyword: "required", ID: 4000002,
					Text: "Property name is missing.", Context: ctx("property", "name"),
					Legacy: "traits.name: Is required",
				},
				{
					Field: "traits.username", Keyword: "required", ID: 4000002,
					Text: "Property username is missing.", Context: ctx("property", "username"),
					Legacy: "traits.username: Is required",
				},
			},
		},
		{
			name:   "modern pattern, format, maxLength and nested additionalProperties",
			schema: "modern",
			traits: `{"email":"a-very-long-address-for-one-person@example.org","name":{"first":"Alice","nick":"Al"},
				"username":"Bad Name","phone":"12","website":"not a uri"}`,
			want: []FieldError{
				{
					Field: "traits.email", Keyword: "maxLength", ID: 4000017,
					Text: "length must be <= 40, but got 46", Context: ctx("max_length", 40, "actual_length", 46),
					Legacy: "traits.email: Must be at most 40 characters long",
				},
				{
					Field: "traits.name.nick", Keyword: "additionalProperties", ID: 4000001,
					Text: `additionalProperties "nick" not allowed`, Context: reason(`additionalProperties "nick" not allowed`),
					Legacy: "traits.name.nick: Is not an allowed field",
				},
				{
					Field: "traits.username", Keyword: "pattern", ID: 4000004,
					Text: `does not match pattern "^[a-z0-9_]+$"`, Context: ctx("pattern", "^[a-z0-9_]+$"),
					Legacy: "traits.username: Must match the pattern ^[a-z0-9_]+$",
				},
				{ // "tel" is checked with libphonenumber: a number in international format
					Field: "traits.phone", Keyword: "format", ID: 4000001,
					Text: `"12" is not valid "tel"`, Context: reason(`"12" is not valid "tel"`),
					Legacy: "traits.phone: Must be a valid tel",
				},
				{
					Field: "traits.phone", Keyword: "pattern", ID: 4000004,
					Text: `does not match pattern "^\\+[0-9]{6,15}$"`, Context: ctx("pattern", `^\+[0-9]{6,15}$`),
					Legacy: `traits.phone: Must match the pattern ^\+[0-9]{6,15}$`,
				},
				{
					Field: "traits.website", Keyword: "format", ID: 4000001,
					Text: `"not a uri" is not valid "uri"`, Context: reason(`"not a uri" is not valid "uri"`),
					Legacy: "traits.website: Must be a valid uri",
				},
			},
		},

		// Draft 2020-12 with $defs: numbers, booleans, arrays, enum, const.
		{
			name:   "2020-12 valid",
			schema: "v2020",
			traits: `{"email":"a@example.org","plan":"pro","age":30,"score":2.5,"newsletter":true,"tags":["go","js"],
				"emails":["b@example.org"],"lucky":[7],"flags":[true],"birthday":"2000-01-31","meeting":"2024-05-01T10:00:00Z",
				"role":"member","address":{"city":"Berlin","zip":"10115"},"phone":"+4912345678"}`,
		},
		{
			name:   "2020-12 numbers",
			schema: "v2020",
			traits: `{"email":"a@example.org","age":17,"score":10.25}`,
			want: []FieldError{
				{
					Field: "traits.age", Keyword: "minimum", ID: 4000018,
					Text: "must be >= 18 but found 17", Context: ctx("minimum", 18.0, "actual", 17.0),
					Legacy: "traits.age: Must be at least 18",
				},
				{
					Field: "traits.score", Keyword: "exclusiveMaximum", ID: 4000021,
					Text: "must be < 10 but found 10.25", Context: ctx("maximum", 10.0, "actual", 10.25),
					Legacy: "traits.score: Must be less than 10",
				},
				{
					Field: "traits.score", Keyword: "multipleOf", ID: 4000022,
					Text: "10.25 not multipleOf 0.5", Context: ctx("base", 0.5, "actual", 10.25),
					Legacy: "traits.score: Must be a multiple of 0.5",
				},
			},
		},
		{
			name:   "2020-12 maximum and exclusiveMinimum",
			schema: "v2020",
			traits: `{"email":"a@example.org","age":131,"score":0}`,
			want: []FieldError{
				{
					Field: "traits.age", Keyword: "maximum", ID: 4000020,
					Text: "must be <= 130 but found 131", Context: ctx("maximum", 130.0, "actual", 131.0),
					Legacy: "traits.age: Must be at most 130",
				},
				{
					Field: "traits.score", Keyword: "exclusiveMinimum", ID: 4000019,
					Text: "must be > 0 but found 0", Context: ctx("minimum", 0.0, "actual", 0.0),
					Legacy: "traits.score: Must be greater than 0",
				},
			},
		},
		{
			name:   "2020-12 wrong types",
			schema: "v2020",
			traits: `{"email":"a@example.org","age":"abc","score":2.5,"newsletter":"yes","lucky":["x"],"tags":"go"}`,
			want: []FieldError{
				{
					Field: "traits.age", Keyword: "type", ID: 4000026,
					Text:    "expected integer, but got string",
					Context: ctx("allowed_types", []string{"integer"}, "actual_type", "string"),
					Legacy:  "traits.age: Must be an integer",
				},
				{
					Field: "traits.newsletter", Keyword: "type", ID: 4000026,
					Text:    "expected boolean, but got string",
					Context: ctx("allowed_types", []string{"boolean"}, "actual_type", "string"),
					Legacy:  "traits.newsletter: Must be a boolean",
				},
				{
					Field: "traits.tags", Keyword: "type", ID: 4000026,
					Text:    "expected array, but got string",
					Context: ctx("allowed_types", []string{"array"}, "actual_type", "string"),
					Legacy:  "traits.tags: Must be an array",
				},
				{
					Field: "traits.lucky.0", Keyword: "type", ID: 4000026,
					Text:    "expected number, but got string",
					Context: ctx("allowed_types", []string{"number"}, "actual_type", "string"),
					Legacy:  "traits.lucky.0: Must be a number",
				},
			},
		},
		{
			name:   "2020-12 integer given a fraction",
			schema: "v2020",
			traits: `{"email":"a@example.org","age":20.5}`,
			want: []FieldError{{
				Field: "traits.age", Keyword: "type", ID: 4000026,
				Text:    "expected integer, but got number",
				Context: ctx("allowed_types", []string{"integer"}, "actual_type", "number"),
				Legacy:  "traits.age: Must be an integer",
			}},
		},
		{
			name:   "2020-12 arrays",
			schema: "v2020",
			traits: `{"email":"a@example.org","tags":["a","bb","bb","cc"],"emails":["ok@example.org","bad"]}`,
			want: []FieldError{
				{
					Field: "traits.tags", Keyword: "maxItems", ID: 4000023,
					Text: "maximum 3 items allowed, but found 4 items", Context: ctx("max_items", 3, "actual_items", 4),
					Legacy: "traits.tags: Must have at most 3 items",
				},
				{
					Field: "traits.tags", Keyword: "uniqueItems", ID: 4000025,
					Text: "items at index 1 and 2 are equal", Context: ctx("index_a", 1, "index_b", 2),
					Legacy: "traits.tags: Must not contain duplicate items",
				},
				{
					Field: "traits.tags.0", Keyword: "minLength", ID: 4000003,
					Text: "length must be >= 2, but got 1", Context: ctx("min_length", 2, "actual_length", 1),
					Legacy: "traits.tags.0: Must be at least 2 characters long",
				},
				{
					Field: "traits.emails.1", Keyword: "format", ID: 4000001,
					Text: `"bad" is not valid "email"`, Context: reason(`"bad" is not valid "email"`),
					Legacy: "traits.emails.1: Must be a valid email address",
				},
			},
		},
		{
			name:   "2020-12 minItems",
			schema: "v2020",
			traits: `{"email":"a@example.org","tags":[]}`,
			want: []FieldError{{
				Field: "traits.tags", Keyword: "minItems", ID: 4000024,
				Text: "minimum 1 items allowed, but found 0 items", Context: ctx("min_items", 1, "actual_items", 0),
				Legacy: "traits.tags: Must have at least 1 item",
			}},
		},
		{
			name:   "2020-12 enum, const, formats, nested pattern, unknown trait",
			schema: "v2020",
			traits: `{"email":"nope","plan":"gold","role":"admin","birthday":"31.01.2000","meeting":"tomorrow",
				"address":{"zip":"123"},"extra":true}`,
			want: []FieldError{
				{
					Field: "traits.email", Keyword: "format", ID: 4000001,
					Text: `"nope" is not valid "email"`, Context: reason(`"nope" is not valid "email"`),
					Legacy: "traits.email: Must be a valid email address",
				},
				{
					Field: "traits.plan", Keyword: "enum", ID: 4000001,
					Text: `value must be one of "free", "pro"`, Context: reason(`value must be one of "free", "pro"`),
					Legacy: "traits.plan: Must be one of: free, pro",
				},
				{
					Field: "traits.birthday", Keyword: "format", ID: 4000001,
					Text: `"31.01.2000" is not valid "date"`, Context: reason(`"31.01.2000" is not valid "date"`),
					Legacy: "traits.birthday: Must be a valid date",
				},
				{
					Field: "traits.meeting", Keyword: "format", ID: 4000001,
					Text: `"tomorrow" is not valid "date-time"`, Context: reason(`"tomorrow" is not valid "date-time"`),
					Legacy: "traits.meeting: Must be a valid date-time",
				},
				{
					Field: "traits.role", Keyword: "const", ID: 4000029,
					Text: "must be equal to constant member", Context: ctx("expected", "member"),
					Legacy: "traits.role: Must be equal to member",
				},
				{
					Field: "traits.address.zip", Keyword: "pattern", ID: 4000004,
					Text: `does not match pattern "^[0-9]{5}$"`, Context: ctx("pattern", "^[0-9]{5}$"),
					Legacy: "traits.address.zip: Must match the pattern ^[0-9]{5}$",
				},
				{
					Field: "traits.extra", Keyword: "additionalProperties", ID: 4000001,
					Text: `additionalProperties "extra" not allowed`, Context: reason(`additionalProperties "extra" not allowed`),
					Legacy: "traits.extra: Is not an allowed field",
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSchema(t, tt.schema)
			got := s.Validate(decode(t, tt.traits))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate mismatch\n got: %s\nwant: %s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(errs []FieldError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %#v", e)
	}
	if len(errs) == 0 {
		b.WriteString("none")
	}
	return b.String()
}

// Values decoded without UseNumber (float64) and built in Go (int) work too.
func TestValidateGoValues(t *testing.T) {
	s := testSchema(t, "v2020")
	got := s.Validate(map[string]any{"email": "a@example.org", "age": 12, "score": float64(3)})
	if len(got) != 1 || got[0].Field != "traits.age" || got[0].Text != "must be >= 18 but found 12" {
		t.Fatalf("got %s", dump(got))
	}
	got = s.Validate(map[string]any{"email": "a@example.org", "tags": []string{"x"}})
	if len(got) != 1 || got[0].Field != "traits" || got[0].Text != "the traits are not valid JSON values" {
		t.Fatalf("non-JSON Go value: got %s", dump(got))
	}
}

func TestValidateFormatAsserted(t *testing.T) {
	for _, draft := range []string{
		`"$schema": "http://json-schema.org/draft-07/schema#",`,
		`"$schema": "https://json-schema.org/draft/2020-12/schema",`,
		`"$schema": "https://json-schema.org/draft/2019-09/schema",`,
		``, // no $schema: treated as draft-07
	} {
		s := inlineSchema(t, `{`+draft+`"type":"object","properties":{"traits":{"type":"object",
			"properties":{"email":{"type":"string","format":"email"}}}}}`)
		got := s.Validate(map[string]any{"email": "not-an-email"})
		if len(got) != 1 || got[0].Keyword != "format" || got[0].Legacy != "traits.email: Must be a valid email address" {
			t.Errorf("%s: got %s", draft, dump(got))
		}
		if got := s.Validate(map[string]any{"email": "a@example.org"}); got != nil {
			t.Errorf("%s: valid email refused: %s", draft, dump(got))
		}
	}
}

func TestValidateDeduplicates(t *testing.T) {
	s := inlineSchema(t, `{"type":"object","properties":{"code":{"allOf":[{"minLength":3},{"minLength":5}]},
		"n":{"anyOf":[{"type":"string"},{"type":"boolean"}]}}}`)
	got := s.Validate(decode(t, `{"code":"x","n":1}`))
	want := []FieldError{
		{
			Field: "traits.code", Keyword: "minLength", ID: 4000003,
			Text: "length must be >= 3, but got 1", Context: ctx("min_length", 3, "actual_length", 1),
			Legacy: "traits.code: Must be at least 3 characters long",
		},
		{
			Field: "traits.n", Keyword: "type", ID: 4000026,
			Text:    "expected string, but got number",
			Context: ctx("allowed_types", []string{"string"}, "actual_type", "number"),
			Legacy:  "traits.n: Must be a string",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s\nwant %s", dump(got), dump(want))
	}
}

func TestValidateOtherKeywords(t *testing.T) {
	s := inlineSchema(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
		"properties":{
			"a":{"type":"object","minProperties":2,"properties":{"x":{"type":"string"},"y":{"type":"string"}},
				"dependentRequired":{"x":["y"]}},
			"b":{"not":{"const":"root"}},
			"c":{"type":["string","null"],"maxLength":2},
			"d":{"type":"object","additionalProperties":false,"properties":{}},
			"e":{"type":"object","unevaluatedProperties":false,"properties":{"k":{"type":"string"}}}
		}}`)
	got := s.Validate(decode(t, `{"a":{"x":"1"},"b":"root","c":7,"d":{"z":1},"e":{"k":"v","q":1}}`))
	want := []FieldError{
		{
			Field: "traits.a", Keyword: "minProperties", ID: 4000001,
			Text:    "minimum 2 properties allowed, but found 1 properties",
			Context: reason("minimum 2 properties allowed, but found 1 properties"),
			Legacy:  "traits.a: Must have at least 2 properties",
		},
		{
			Field: "traits.a.y", Keyword: "dependentRequired", ID: 4000002,
			Text: "Property y is missing.", Context: ctx("property", "y"),
			Legacy: "traits.a.y: Is required",
		},
		{
			Field: "traits.b", Keyword: "not", ID: 4000001,
			Text: "not failed", Context: reason("not failed"),
			Legacy: "traits.b: Is not an allowed value",
		},
		{
			Field: "traits.c", Keyword: "type", ID: 4000026,
			Text:    "expected string or null, but got number",
			Context: ctx("allowed_types", []string{"string", "null"}, "actual_type", "number"),
			Legacy:  "traits.c: Must be a string or null",
		},
		{
			Field: "traits.d.z", Keyword: "additionalProperties", ID: 4000001,
			Text: `additionalProperties "z" not allowed`, Context: reason(`additionalProperties "z" not allowed`),
			Legacy: "traits.d.z: Is not an allowed field",
		},
		{
			Field: "traits.e.q", Keyword: "unevaluatedProperties", ID: 4000001,
			Text: `unevaluatedProperties "q" not allowed`, Context: reason(`unevaluatedProperties "q" not allowed`),
			Legacy: "traits.e.q: Is not an allowed field",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s\nwant %s", dump(got), dump(want))
	}
}

func TestValidateConcurrent(t *testing.T) {
	s := testSchema(t, "seed")
	traits := decode(t, `{"email":"foobar@ory.sh","name":{"first":"abc","last":"Barbaz"}}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if got := s.Validate(traits); len(got) != 1 {
					t.Errorf("got %s", dump(got))
					return
				}
				_ = s.Fields()
				_ = s.Identifiers(traits)
			}
		}()
	}
	wg.Wait()
}

// A modern schema may constrain more of the identity than the traits;
// such errors are named by their own path, never as traits.
func TestValidateOutsideTraits(t *testing.T) {
	s := inlineSchema(t, `{"type":"object","required":["traits","schema_id"],
		"properties":{"traits":{"type":"object","properties":{"a":{"type":"string"}}}}}`)
	got := s.Validate(map[string]any{"a": "x"})
	want := []FieldError{{
		Field: "schema_id", Keyword: "required", ID: 4000002,
		Text: "Property schema_id is missing.", Context: ctx("property", "schema_id"),
		Legacy: "schema_id: Is required",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s", dump(got))
	}
}
