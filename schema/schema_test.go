package schema

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompileFile(t *testing.T) {
	s := testSchema(t, "seed")
	if s.ID() != "default" {
		t.Errorf("ID = %q", s.ID())
	}
	raw, err := os.ReadFile("testdata/seed.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Raw(), raw) {
		t.Error("Raw differs from the file")
	}
	if !s.Legacy() {
		t.Error("the seed schema has the legacy shape")
	}
	if testSchema(t, "modern").Legacy() || testSchema(t, "v2020").Legacy() {
		t.Error("modern schemas detected as legacy")
	}
}

func TestCompileRawIsACopy(t *testing.T) {
	raw := []byte(`{"type":"object"}`)
	s, err := Compile("default", "inline", raw)
	if err != nil {
		t.Fatal(err)
	}
	raw[1] = 'X'
	if string(s.Raw()) != `{"type":"object"}` {
		t.Errorf("Raw changed with the caller's slice: %s", s.Raw())
	}
}

func TestCompileFileNotFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.schema.json")
	_, err := CompileFile("default", path)
	if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func TestCompileMalformedJSONNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.schema.json")
	if err := os.WriteFile(path, []byte("{\n  \"type\": \"object\",\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := CompileFile("default", path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("err = %v", err)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{
			name: "trailing data",
			doc:  `{"type":"object"} {}`,
			want: []string{"inline", "unexpected data after the top-level JSON value"},
		},
		{
			name: "not an object",
			doc:  `[]`,
			want: []string{"inline", "must be a JSON object, got array"},
		},
		{
			name: "meta-schema violation",
			doc:  `{"type":"object","properties":{"email":{"type":"strnig"}}}`,
			want: []string{"inline", "/properties/email/type"},
		},
		{
			name: "unresolvable internal ref",
			doc:  `{"type":"object","properties":{"email":{"$ref":"#/definitions/nothing"}}}`,
			want: []string{"inline", "#/definitions/nothing"},
		},
		{
			name: "remote https ref",
			doc:  `{"properties":{"traits":{"type":"object","properties":{"email":{"$ref":"https://evil.example.com/email.json#/x"}}}}}`,
			want: []string{"inline", `"https://evil.example.com/email.json"`, "not allowed"},
		},
		{
			name: "remote http ref",
			doc:  `{"properties":{"traits":{"$ref":"http://evil.example.com/traits.json"}}}`,
			want: []string{"inline", `"http://evil.example.com/traits.json"`},
		},
		{
			name: "file ref",
			doc:  `{"properties":{"traits":{"$ref":"file:///etc/passwd"}}}`,
			want: []string{"inline", `"file:///etc/passwd"`},
		},
		{
			name: "relative ref to another document",
			doc:  `{"$id":"https://schemas.example.org/a.json","properties":{"traits":{"$ref":"b.json"}}}`,
			want: []string{"inline", `"https://schemas.example.org/b.json"`},
		},
		{
			name: "remote meta-schema",
			doc:  `{"$schema":"https://evil.example.com/meta.json","type":"object"}`,
			want: []string{"inline", `"https://evil.example.com/meta.json"`},
		},
		{
			name: "extension identifier not a boolean",
			doc: `{"properties":{"traits":{"type":"object","properties":{"email":{"type":"string",
				"ory.sh/kratos":{"credentials":{"password":{"identifier":"yes"}}}}}}}}`,
			want: []string{"inline",
				"#/properties/traits/properties/email/ory.sh~1kratos/credentials/password/identifier: must be a boolean (true or false), got string"},
		},
		{
			name: "extension verification not an object",
			doc: `{"type":"object","properties":{"email":{"type":"string",
				"ory.sh/kratos":{"verification":"email"}}}}`,
			want: []string{"#/properties/email/ory.sh~1kratos/verification: must be an object, got string"},
		},
		{
			name: "extension via unknown",
			doc: `{"type":"object","properties":{"email":{"type":"string",
				"ory.sh/kratos":{"recovery":{"via":"pigeon"}}}}}`,
			want: []string{`#/properties/email/ory.sh~1kratos/recovery/via: must be "email" or "sms", got "pigeon"`},
		},
		{
			name: "extension unknown key",
			doc: `{"type":"object","properties":{"email":{"type":"string",
				"ory.sh/kratos":{"credentails":{}}}}}`,
			want: []string{`#/properties/email/ory.sh~1kratos/credentails: unknown key "credentails"`},
		},
		{
			name: "extension not an object",
			doc:  `{"type":"object","properties":{"email":{"type":"string","ory.sh/kratos":true}}}`,
			want: []string{"#/properties/email/ory.sh~1kratos: must be an object, got boolean"},
		},
		{
			name: "extension inside definitions",
			doc: `{"definitions":{"e":{"type":"string","ory.sh/kratos":{"credentials":{"password":{"identifier":1}}}}},
				"type":"object","properties":{"email":{"$ref":"#/definitions/e"}}}`,
			want: []string{"#/definitions/e/ory.sh~1kratos/credentials/password/identifier: must be a boolean"},
		},
		{
			name: "extension next to $ref in draft-07",
			doc: `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"e":{"type":"string"}},
				"type":"object","properties":{"email":{"$ref":"#/definitions/e",
				"ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}}}}`,
			want: []string{`#/properties/email/ory.sh~1kratos: is ignored next to "$ref"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile("default", "inline", []byte(tt.doc))
			if err == nil {
				t.Fatal("compiled")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCompileRelativeRefFromFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "identity.schema.json")
	doc := `{"type":"object","properties":{"traits":{"$ref":"other.schema.json"}}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.schema.json"), []byte(`{"type":"object"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := CompileFile("default", path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "other.schema.json") {
		t.Fatalf("err = %v (the other file must not be read)", err)
	}
}

func TestCompileInternalRefs(t *testing.T) {
	for name, doc := range map[string]string{
		"definitions": `{"definitions":{"e":{"type":"string","format":"email"}},
			"type":"object","properties":{"email":{"$ref":"#/definitions/e"}}}`,
		"$defs 2020-12": `{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"e":{"type":"string","format":"email"}},
			"type":"object","properties":{"email":{"$ref":"#/$defs/e"}}}`,
		"ref by $id": `{"$id":"https://schemas.example.org/x.json","definitions":{"e":{"type":"string","format":"email"}},
			"type":"object","properties":{"email":{"$ref":"https://schemas.example.org/x.json#/definitions/e"}}}`,
		"ref by anchor": `{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"e":{"$anchor":"mail","type":"string","format":"email"}},
			"type":"object","properties":{"email":{"$ref":"#mail"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := inlineSchema(t, doc)
			got := s.Validate(map[string]any{"email": "nope"})
			if len(got) != 1 || got[0].Field != "traits.email" || got[0].Keyword != "format" {
				t.Errorf("got %s", dump(got))
			}
		})
	}
}

// Extension blocks next to "$ref" are kept from draft 2019-09 on, and the
// other ory.sh/kratos credentials are accepted.
func TestCompileExtensionNextToRef2020(t *testing.T) {
	s := inlineSchema(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"e":{"type":"string","format":"email"}},
		"type":"object","properties":{"email":{"$ref":"#/$defs/e","ory.sh/kratos":{
			"credentials":{"password":{"identifier":true},"webauthn":{"identifier":true},"passkey":{"display_name":true},
				"totp":{"account_name":true},"code":{"identifier":true,"via":"email"}},
			"verification":{"via":"email"}}}}}`)
	if got := s.Identifiers(map[string]any{"email": "A@Example.org"}); len(got) != 1 || got[0] != "a@example.org" {
		t.Errorf("Identifiers = %v", got)
	}
}
