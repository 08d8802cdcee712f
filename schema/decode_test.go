package schema

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestTraitsFromForm(t *testing.T) {
	s := testSchema(t, "v2020")
	tests := []struct {
		name string
		form url.Values
		want map[string]any
	}{
		{
			name: "no traits keys",
			form: url.Values{"csrf_token": {"x"}, "method": {"profile"}},
			want: map[string]any{},
		},
		{
			name: "strings, numbers, booleans",
			form: url.Values{
				"traits.email":      {"a@example.org"},
				"traits.age":        {"42"},
				"traits.score":      {"-2.5e1"},
				"traits.newsletter": {"false", "true"},
				"csrf_token":        {"ignored"},
			},
			want: map[string]any{"email": "a@example.org", "age": 42.0, "score": -25.0, "newsletter": true},
		},
		{
			name: "the last boolean wins",
			form: url.Values{"traits.newsletter": {"true", "false"}},
			want: map[string]any{"newsletter": false},
		},
		{
			name: "checkbox on",
			form: url.Values{"traits.newsletter": {"on"}},
			want: map[string]any{"newsletter": true},
		},
		{
			name: "unparsable values are kept as strings",
			form: url.Values{"traits.age": {"forty"}, "traits.score": {"0x10"}, "traits.newsletter": {"maybe"}},
			want: map[string]any{"age": "forty", "score": "0x10", "newsletter": "maybe"},
		},
		{
			name: "empty values are dropped",
			form: url.Values{"traits.email": {""}, "traits.plan": {""}, "traits.age": {""}, "traits.newsletter": {""},
				"traits.address.city": {""}, "traits.tags": {""}},
			want: map[string]any{},
		},
		{
			name: "last non-empty string wins",
			form: url.Values{"traits.email": {"a@example.org", "b@example.org", ""}},
			want: map[string]any{"email": "b@example.org"},
		},
		{
			name: "nested objects",
			form: url.Values{"traits.address.city": {"Berlin"}, "traits.address.zip": {"10115"}},
			want: map[string]any{"address": map[string]any{"city": "Berlin", "zip": "10115"}},
		},
		{
			name: "arrays from repeated values, typed by the items",
			form: url.Values{
				"traits.tags":  {"go", "", "js"},
				"traits.lucky": {"7", "x", "1.5"},
				"traits.flags": {"on", "0"},
			},
			want: map[string]any{
				"tags":  []any{"go", "js"},
				"lucky": []any{7.0, "x", 1.5},
				"flags": []any{true, false},
			},
		},
		{
			name: "arrays by position",
			form: url.Values{"traits.tags.1": {"js"}, "traits.tags.0": {"go"}, "traits.lucky.10": {"3"}, "traits.lucky.2": {"1"}},
			want: map[string]any{"tags": []any{"go", "js"}, "lucky": []any{1.0, 3.0}},
		},
		{
			name: "unknown keys are kept as strings",
			form: url.Values{"traits.unknown": {"x"}, "traits.multi": {"a", "b"}, "traits.address.street": {"Main St"},
				"traits.email.sub": {"y"}},
			want: map[string]any{
				"unknown": "x",
				"multi":   []any{"a", "b"},
				"address": map[string]any{"street": "Main St"},
				"email":   map[string]any{"sub": "y"},
			},
		},
		{
			name: "escaped dots",
			form: url.Values{`traits.a\.b.c`: {"x"}},
			want: map[string]any{"a.b": map[string]any{"c": "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.TraitsFromForm(tt.form)
			if err != nil || got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// Decoding keeps what does not convert, so validation reports it.
func TestTraitsFromFormThenValidate(t *testing.T) {
	s := testSchema(t, "v2020")
	traits, err := s.TraitsFromForm(url.Values{
		"traits.email": {"a@example.org"},
		"traits.age":   {"forty"},
		"traits.foo":   {"bar"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range s.Validate(traits) {
		got = append(got, e.Legacy)
	}
	want := []string{"traits.age: Must be an integer", "traits.foo: Is not an allowed field"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	seed := testSchema(t, "seed")
	traits, err = seed.TraitsFromForm(url.Values{"traits.email": {""}, "traits.name.first": {"Foobar"}})
	if err != nil {
		t.Fatal(err)
	}
	if errs := seed.Validate(traits); len(errs) != 1 || errs[0].Legacy != "traits.email: Is required" {
		t.Errorf("empty required field: %s", dump(errs))
	}
}

func TestTraitsFromJSON(t *testing.T) {
	s := testSchema(t, "modern")
	tests := []struct {
		name string
		body string
		want string // JSON
	}{
		{"empty body", `{}`, `{}`},
		{"nested", `{"traits":{"email":"a@example.org","name":{"first":"Alice"}},"method":"profile"}`,
			`{"email":"a@example.org","name":{"first":"Alice"}}`},
		{"flat dotted", `{"traits.email":"a@example.org","traits.name.first":"Alice","csrf_token":"x"}`,
			`{"email":"a@example.org","name":{"first":"Alice"}}`},
		{"mixed", `{"traits":{"email":"a@example.org","name":{"last":"Smith"}},"traits.name.first":"Alice"}`,
			`{"email":"a@example.org","name":{"first":"Alice","last":"Smith"}}`},
		{"dotted inside nested", `{"traits":{"name.first":"Alice","name":{"last":"Smith"}}}`,
			`{"name":{"first":"Alice","last":"Smith"}}`},
		{"values kept as sent", `{"traits":{"age":"42","n":42,"b":"true","l":[1,"x"],"z":null}}`,
			`{"age":"42","n":42,"b":"true","l":[1,"x"],"z":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := decode(t, tt.body).(map[string]any)
			got, err := s.TraitsFromJSON(body)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("nil traits")
			}
			if !reflect.DeepEqual(got, decode(t, tt.want)) {
				b, _ := json.Marshal(got)
				t.Errorf("got %s, want %s", b, tt.want)
			}
		})
	}
}

func TestTraitsFromJSONKeepsNumbersAndCopies(t *testing.T) {
	s := testSchema(t, "v2020")
	body := decode(t, `{"traits":{"age":17,"address":{"city":"Berlin"}}}`).(map[string]any)
	got, err := s.TraitsFromJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["age"].(json.Number); !ok {
		t.Errorf("age is %T, want json.Number", got["age"])
	}
	got["address"].(map[string]any)["city"] = "Paris"
	if body["traits"].(map[string]any)["address"].(map[string]any)["city"] != "Berlin" {
		t.Error("the result shares objects with the body")
	}
	if errs := s.Validate(got); len(errs) != 2 || errs[0].Keyword != "required" || errs[1].Keyword != "minimum" {
		t.Errorf("errors: %s", dump(errs))
	}
}

func TestTraitsFromJSONErrors(t *testing.T) {
	s := testSchema(t, "modern")
	for body, want := range map[string]string{
		`{"traits":"x"}`:  "traits must be a JSON object, not string",
		`{"traits":null}`: "traits must be a JSON object, not null",
		`{"traits":[]}`:   "traits must be a JSON object, not array",
		`{"traits":{"email":"a@example.org"},"traits.email":"b@example.org"}`: "traits.email is given more than once",
		`{"traits":{"name":"x"},"traits.name.first":"y"}`:                     "traits.name is given more than once",
		`{"traits":{"name":{"first":"x"},"name.first":"y"}}`:                  "traits.name.first is given more than once",
	} {
		_, err := s.TraitsFromJSON(decode(t, body).(map[string]any))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", body, err, want)
		}
	}
}
