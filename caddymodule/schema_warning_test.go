package caddymodule

import (
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/schema"
)

func TestLoginIdentifierProblem(t *testing.T) {
	const marked = `"ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}`
	for _, tc := range []struct {
		name, traits, want string
	}{
		{"marked and required", `{"properties": {"email": {"type": "string", ` + marked + `}}, "required": ["email"]}`, ""},
		{"none marked", `{"properties": {"email": {"type": "string"}}, "required": ["email"]}`, "no trait is a login identifier"},
		{"misspelled extension", `{"properties": {"email": {"type": "string", "ory.sh/kratoss": {"credentials": {"password": {"identifier": true}}}}}, "required": ["email"]}`, "no trait is a login identifier"},
		{"not required", `{"properties": {"email": {"type": "string", ` + marked + `}}}`, "no login identifier trait is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"traits": {"type": "object", ` +
				strings.TrimSuffix(strings.TrimPrefix(tc.traits, "{"), "}") + `}}}`
			sch, err := schema.Compile("default", "test", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := loginIdentifierProblem(sch); !strings.Contains(got, tc.want) || (tc.want == "") != (got == "") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
