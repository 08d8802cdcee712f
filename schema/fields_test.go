package schema

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

func TestFieldsSeed(t *testing.T) {
	want := []Field{
		{
			Name: "traits.email", Path: []string{"email"}, Type: "email", JSONType: "string", Format: "email",
			Required: true, MinLength: 3, MaxLength: -1, Title: "E-Mail", Identifier: true,
		},
		{
			Name: "traits.name.first", Path: []string{"name", "first"}, Type: "text", JSONType: "string",
			MinLength: 5, MaxLength: -1,
		},
		{
			Name: "traits.name.last", Path: []string{"name", "last"}, Type: "text", JSONType: "string",
			MinLength: -1, MaxLength: -1,
		},
	}
	if got := testSchema(t, "seed").Fields(); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestFieldsModern(t *testing.T) {
	want := []Field{
		{
			Name: "traits.email", Path: []string{"email"}, Type: "email", JSONType: "string", Format: "email",
			Required: true, MinLength: -1, MaxLength: 40, Title: "E-Mail",
			Identifier: true, VerificationVia: "email", RecoveryVia: "email",
		},
		{
			Name: "traits.name.first", Path: []string{"name", "first"}, Type: "text", JSONType: "string",
			Required: true, MinLength: 5, MaxLength: -1, Title: "First name",
		},
		{
			Name: "traits.name.last", Path: []string{"name", "last"}, Type: "text", JSONType: "string",
			MinLength: 2, MaxLength: -1, Title: "Last name",
		},
		{
			Name: "traits.backup_email", Path: []string{"backup_email"}, Type: "email", JSONType: "string",
			Format: "email", MinLength: -1, MaxLength: -1, Title: "Backup e-mail", RecoveryVia: "email",
		},
		{
			Name: "traits.username", Path: []string{"username"}, Type: "text", JSONType: "string",
			Required: true, Pattern: "^[a-z0-9_]+$", MinLength: 3, MaxLength: -1, Identifier: true,
		},
		{
			Name: "traits.phone", Path: []string{"phone"}, Type: "tel", JSONType: "string", Format: "tel",
			Pattern: `^\+[0-9]{6,15}$`, MinLength: -1, MaxLength: -1, Title: "Phone",
		},
		{
			Name: "traits.website", Path: []string{"website"}, Type: "url", JSONType: "string", Format: "uri",
			MinLength: -1, MaxLength: -1,
		},
	}
	if got := testSchema(t, "modern").Fields(); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestFields2020(t *testing.T) {
	type brief struct {
		Name, Type, JSONType string
		Required, ReadOnly   bool
		Identifier           bool
		Verify, Recover      string
	}
	want := []brief{
		{"traits.email", "email", "string", true, false, true, "email", ""},
		{"traits.plan", "text", "string", false, true, false, "", ""},
		{"traits.age", "number", "integer", false, false, false, "", ""},
		{"traits.score", "number", "number", false, false, false, "", ""},
		{"traits.newsletter", "checkbox", "boolean", false, false, false, "", ""},
		{"traits.tags", "text", "array", false, false, false, "", ""},
		{"traits.emails", "email", "array", false, false, true, "", "email"},
		{"traits.lucky", "number", "array", false, false, false, "", ""},
		{"traits.flags", "checkbox", "array", false, false, false, "", ""},
		{"traits.birthday", "date", "string", false, false, false, "", ""},
		{"traits.meeting", "datetime-local", "string", false, false, false, "", ""},
		{"traits.role", "text", "string", false, false, false, "", ""},
		{"traits.address.city", "text", "string", false, true, false, "", ""},
		{"traits.address.zip", "text", "string", false, true, false, "", ""},
		{"traits.phone", "tel", "string", false, false, false, "sms", "sms"},
	}
	fields := testSchema(t, "v2020").Fields()
	var got []brief
	for _, f := range fields {
		got = append(got, brief{f.Name, f.Type, f.JSONType, f.Required, f.ReadOnly, f.Identifier, f.VerificationVia, f.RecoveryVia})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	byName := map[string]Field{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	if f := byName["traits.plan"]; f.Title != "Plan" || !reflect.DeepEqual(f.Enum, []any{"free", "pro"}) {
		t.Errorf("plan: %+v", f)
	}
	if f := byName["traits.email"]; f.Title != "E-Mail" || f.Format != "email" {
		t.Errorf("email (title and extension next to $ref): %+v", f)
	}
	if f := byName["traits.tags"]; f.MinLength != 2 {
		t.Errorf("tags take the item constraints: %+v", f)
	}
	if f := byName["traits.address.zip"]; f.Pattern != "^[0-9]{5}$" {
		t.Errorf("zip: %+v", f)
	}
}

// The field order is the document's key order, not sorted, through $ref
// and allOf, wherever "allOf" stands among the keys.
func TestFieldsKeyOrder(t *testing.T) {
	s := inlineSchema(t, `{
		"definitions": {
			"mixin": {"properties": {"zz_mixed": {"type": "string"}, "aa_mixed": {"type": "string"}}},
			"inner": {"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "string"}}}
		},
		"type": "object",
		"properties": {
			"traits": {
				"type": "object",
				"allOf": [{"$ref": "#/definitions/mixin"}],
				"properties": {
					"zeta": {"type": "string"},
					"alpha": {"$ref": "#/definitions/inner"},
					"mid": {"type": "number"}
				},
				"anyOf": [{"properties": {"yy_any": {"type": "boolean"}}}]
			}
		}
	}`)
	var got []string
	for _, f := range s.Fields() {
		got = append(got, f.Name)
	}
	want := []string{"traits.zz_mixed", "traits.aa_mixed", "traits.zeta", "traits.alpha.z", "traits.alpha.a",
		"traits.mid", "traits.yy_any"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// A long list of names that sorting (or map iteration) would reorder keeps
// the document's order.
func TestFieldsFollowRawOrder(t *testing.T) {
	names := []string{"q", "b", "x", "a", "m", "c", "z", "k", "d", "y", "e", "w"}
	raw := `{"type":"object","properties":{`
	for i, n := range names {
		if i > 0 {
			raw += ","
		}
		raw += `"` + n + `":{"type":"string"}`
	}
	raw += `}}`
	s := inlineSchema(t, raw)
	var got []string
	for _, f := range s.Fields() {
		got = append(got, f.Path[0])
	}
	if !slices.Equal(got, names) {
		t.Errorf("got %v, want %v", got, names)
	}
}

func TestFieldsRecursiveSchemaStops(t *testing.T) {
	s := inlineSchema(t, `{
		"definitions": {
			"person": {"type": "object", "properties": {
				"name": {"type": "string"},
				"friend": {"$ref": "#/definitions/person"}
			}}
		},
		"type": "object",
		"properties": {"traits": {"$ref": "#/definitions/person"}}
	}`)
	var got []string
	for _, f := range s.Fields() {
		got = append(got, f.Name)
	}
	want := []string{"traits.name", "traits.friend.name"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if errs := s.Validate(map[string]any{"friend": map[string]any{"friend": map[string]any{"name": 1}}}); len(errs) != 1 ||
		errs[0].Field != "traits.friend.friend.name" {
		t.Errorf("deep error: %s", dump(errs))
	}
}

func TestFieldsReturnsACopy(t *testing.T) {
	s := testSchema(t, "v2020")
	f := s.Fields()
	f[1].Path[0] = "changed"
	f[1].Enum[0] = "changed"
	f[1].Name = "changed"
	g := s.Fields()
	if g[1].Name != "traits.plan" || g[1].Path[0] != "plan" || g[1].Enum[0] != "free" {
		t.Errorf("Fields shares state: %+v", g[1])
	}
}

func TestFieldsNamesWithDots(t *testing.T) {
	s := inlineSchema(t, `{"type":"object","properties":{"a.b":{"type":"string","minLength":2}}}`)
	f := s.Fields()
	if len(f) != 1 || f[0].Name != `traits.a\.b` || !slices.Equal(f[0].Path, []string{"a.b"}) {
		t.Fatalf("fields: %+v", f)
	}
	traits, err := s.TraitsFromForm(map[string][]string{`traits.a\.b`: {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(traits); len(errs) != 1 || errs[0].Field != `traits.a\.b` {
		t.Errorf("errors: %s", dump(errs))
	}
	b, _ := json.Marshal(traits)
	if string(b) != `{"a.b":"x"}` {
		t.Errorf("traits: %s", b)
	}
}
