package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// ExtensionKeyword is the schema keyword under which Kratos keeps the
// identity configuration of a trait (login identifier, verification and
// recovery address).
const ExtensionKeyword = "ory.sh/kratos"

// extConfig is the part of an ory.sh/kratos block this package acts on.
// It is the library's compiled form of the keyword (kept in
// Schema.Extensions); it never fails a validation.
type extConfig struct {
	identifier      bool   // credentials.password.identifier
	verificationVia string // verification.via
	recoveryVia     string // recovery.via
}

// Validate implements jsonschema.ExtSchema. The keyword only configures the
// identity; it accepts every value.
func (*extConfig) Validate(jsonschema.ValidationContext, any) error { return nil }

// extCompiler turns ory.sh/kratos blocks into *extConfig during compilation.
type extCompiler struct{}

// Compile implements jsonschema.ExtCompiler. The blocks were checked, with
// their JSON pointers, by checkExtensions before the library saw the
// document, so an error here only repeats what was already reported.
func (extCompiler) Compile(_ jsonschema.CompilerContext, m map[string]any) (jsonschema.ExtSchema, error) {
	v, ok := m[ExtensionKeyword]
	if !ok {
		return nil, nil
	}
	return parseExtension(v, "#/"+escapeToken(ExtensionKeyword))
}

// The allowed shape of an ory.sh/kratos block, as in Kratos' own extension
// meta-schema: object members and, for leaves, "bool" or "via".
var extShape = shape{
	"credentials": shape{
		"password": shape{"identifier": "bool"},
		"webauthn": shape{"identifier": "bool"},
		"passkey":  shape{"display_name": "bool"},
		"totp":     shape{"account_name": "bool"},
		"code":     shape{"identifier": "bool", "via": "via"},
	},
	"verification": shape{"via": "via"},
	"recovery":     shape{"via": "via"},
}

// shape describes an object: member name -> nested shape or leaf kind.
type shape map[string]any

// parseExtension checks an ory.sh/kratos block against extShape and returns
// its configuration. ptr is the block's JSON pointer, used in errors.
func parseExtension(v any, ptr string) (*extConfig, error) {
	if err := checkShape(v, extShape, ptr); err != nil {
		return nil, err
	}
	cfg := &extConfig{}
	if b, ok := lookup(v, []string{"credentials", "password", "identifier"}); ok {
		cfg.identifier = b.(bool)
	}
	if s, ok := lookup(v, []string{"verification", "via"}); ok {
		cfg.verificationVia = s.(string)
	}
	if s, ok := lookup(v, []string{"recovery", "via"}); ok {
		cfg.recoveryVia = s.(string)
	}
	return cfg, nil
}

func checkShape(v any, want shape, ptr string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: must be an object, got %s", ptr, jsonType(v))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := ptr + "/" + escapeToken(k)
		switch w := want[k].(type) {
		case nil:
			return fmt.Errorf("%s: unknown key %q (allowed: %s)", p, k, allowedKeys(want))
		case shape:
			if err := checkShape(m[k], w, p); err != nil {
				return err
			}
		case string:
			if err := checkLeaf(m[k], w, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkLeaf(v any, kind, ptr string) error {
	switch kind {
	case "bool":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: must be a boolean (true or false), got %s", ptr, jsonType(v))
		}
	case "via":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: must be a string, got %s", ptr, jsonType(v))
		}
		if s != "email" && s != "sms" {
			return fmt.Errorf("%s: must be \"email\" or \"sms\", got %q", ptr, s)
		}
	}
	return nil
}

func allowedKeys(s shape) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// Keywords whose object value maps names (not keywords) to subschemas.
var schemaMaps = map[string]bool{
	"properties": true, "patternProperties": true, "definitions": true, "$defs": true,
	"dependentSchemas": true, "dependencies": true,
}

// Keywords whose value is instance data, never a schema.
var dataKeywords = map[string]bool{
	"enum": true, "const": true, "default": true, "examples": true,
}

// checkExtensions walks every schema object of the document and checks
// each ory.sh/kratos block, so a malformed one is reported with its JSON
// pointer (the library's extension hook does not know where it is). In
// draft-07 and older, a block next to "$ref" would be ignored by JSON
// Schema rules; that is reported too rather than silently losing the
// identifier or address configuration.
func checkExtensions(v any, ptr string, oldDraft bool) error {
	switch v := v.(type) {
	case []any:
		for i, item := range v {
			if err := checkExtensions(item, fmt.Sprintf("%s/%d", ptr, i), oldDraft); err != nil {
				return err
			}
		}
	case map[string]any:
		if ext, ok := v[ExtensionKeyword]; ok {
			extPtr := "#" + ptr + "/" + escapeToken(ExtensionKeyword)
			if _, err := parseExtension(ext, extPtr); err != nil {
				return err
			}
			if _, hasRef := v["$ref"]; hasRef && oldDraft {
				return fmt.Errorf("%s: is ignored next to \"$ref\" in draft-07 and older schemas; "+
					"move it into the referenced schema (or use draft 2020-12)", extPtr)
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == ExtensionKeyword || dataKeywords[k] {
				continue
			}
			p := ptr + "/" + escapeToken(k)
			if sub, ok := v[k].(map[string]any); ok && schemaMaps[k] {
				names := make([]string, 0, len(sub))
				for n := range sub {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					if err := checkExtensions(sub[n], p+"/"+escapeToken(n), oldDraft); err != nil {
						return err
					}
				}
				continue
			}
			if err := checkExtensions(v[k], p, oldDraft); err != nil {
				return err
			}
		}
	}
	return nil
}
