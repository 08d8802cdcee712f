// Package schema compiles Kratos identity schemas and answers everything the
// flows need from them: validation with Kratos messages, the form fields, the
// login identifiers and addresses, and typed decoding of request bodies.
// It is the only package that knows the JSON Schema library.
//
// Two schema shapes are understood: the modern Kratos shape, whose root
// describes the identity and has an object property "traits", and the
// legacy v0.1 shape, whose root describes the traits object itself. Either
// way, field names are "traits." followed by the dotted path of the trait.
package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Schema is a compiled identity schema. It is immutable and safe for
// concurrent use.
type Schema struct {
	id      string
	raw     []byte
	root    *jsonschema.Schema
	wrapped bool // modern shape: validate {"traits": traits} against root

	fields []fieldInfo         // in schema key order
	kinds  map[string]pathKind // JSON pointer below traits -> what the schema expects there
	rank   map[string]int      // JSON pointer below traits -> position in schema key order
	byLoc  map[string]*jsonschema.Schema
}

// CompileFile reads and compiles the identity schema at path. Errors name
// the path.
func CompileFile(id, path string) (*Schema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity schema %s: %w", path, err)
	}
	base := "file:///identity.schema.json"
	if abs, err := filepath.Abs(path); err == nil {
		base = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	}
	return compile(id, path, base, raw)
}

// Compile compiles the identity schema document raw. name says where the
// document came from (a path, or "inline") and is used in errors.
func Compile(id, name string, raw []byte) (*Schema, error) {
	return compile(id, name, "mem://identity-schema/"+url.PathEscape(id)+".schema.json", raw)
}

// ID is the schema id ("default").
func (s *Schema) ID() string { return s.id }

// Raw is the schema document as it was given. The caller must not modify it.
func (s *Schema) Raw() []byte { return s.raw }

// Legacy reports whether the schema has the v0.1 shape, describing the
// traits object itself, rather than the modern shape with a "traits"
// property.
func (s *Schema) Legacy() bool { return !s.wrapped }

// errExternalRef is returned by the compiler's loader for every document
// outside the schema.
var errExternalRef = errors.New("references outside the identity schema are not allowed")

func compile(id, name, base string, raw []byte) (sch *Schema, err error) {
	fail := func(err error) (*Schema, error) {
		return nil, fmt.Errorf("identity schema %s: %w", name, err)
	}
	doc, err := parseDocument(raw)
	if err != nil {
		return fail(err)
	}
	top, ok := doc.value.(map[string]any)
	if !ok {
		return fail(fmt.Errorf("the document must be a JSON object, got %s", jsonType(doc.value)))
	}
	if err := checkExtensions(top, "", oldDraft(top)); err != nil {
		return fail(err)
	}

	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7 // Kratos identity schemas are draft-07 unless they say otherwise
	c.AssertFormat = true
	c.ExtractAnnotations = true
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("external reference %q refused: %w", u, errExternalRef)
	}
	c.Formats["tel"] = isTel
	c.RegisterExtension(ExtensionKeyword, nil, extCompiler{})
	if err := c.AddResource(base, bytes.NewReader(raw)); err != nil {
		return fail(err)
	}
	defer func() {
		// The library asserts on shapes its meta-schema check normally
		// rules out; never let a strange document crash the server.
		if r := recover(); r != nil {
			sch, err = fail(fmt.Errorf("cannot compile: %v", r))
		}
	}()
	root, err := c.Compile(base)
	if err != nil {
		return fail(libraryError(err, base))
	}

	s := &Schema{
		id:    id,
		raw:   bytes.Clone(raw),
		root:  root,
		byLoc: map[string]*jsonschema.Schema{},
	}
	indexSchemas(root, s.byLoc)
	s.buildFields(doc)
	return s, nil
}

// libraryError rewords a compile error of the JSON Schema library: it drops
// the internal document URL, which means nothing to the user.
func libraryError(err error, base string) error {
	var se *jsonschema.SchemaError
	if errors.As(err, &se) && se.Err != nil {
		err = se.Err
	}
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		// The document breaks the JSON Schema meta-schema; the first leaf
		// says where and why.
		leaf := ve
		for len(leaf.Causes) > 0 {
			leaf = leaf.Causes[0]
		}
		return fmt.Errorf("not a valid JSON Schema: #%s: %s", leaf.InstanceLocation, leaf.Message)
	}
	msg := strings.TrimPrefix(err.Error(), "jsonschema: ")
	msg = strings.ReplaceAll(msg, base+"#", "#")
	msg = strings.ReplaceAll(msg, base, "the schema")
	if strings.HasSuffix(msg, " not found") {
		msg = "$ref target " + msg
	}
	return errors.New(msg)
}

// oldDraft reports whether the document is draft-07 or older (also when it
// names no draft: we treat those as draft-07).
func oldDraft(top map[string]any) bool {
	s, _ := top["$schema"].(string)
	if s == "" {
		return true
	}
	for _, d := range []string{"draft-04", "draft-06", "draft-07"} {
		if strings.Contains(s, "json-schema.org/"+d+"/") {
			return true
		}
	}
	return false
}

// indexSchemas records every schema reachable from s by its location.
func indexSchemas(s *jsonschema.Schema, into map[string]*jsonschema.Schema) {
	if s == nil {
		return
	}
	if _, seen := into[s.Location]; seen {
		return
	}
	into[s.Location] = s
	for _, sub := range subschemas(s) {
		indexSchemas(sub, into)
	}
}

// subschemas lists the schemas directly inside s.
func subschemas(s *jsonschema.Schema) []*jsonschema.Schema {
	out := []*jsonschema.Schema{s.Ref, s.RecursiveRef, s.DynamicRef, s.Not, s.If, s.Then, s.Else,
		s.PropertyNames, s.UnevaluatedProperties, s.Items2020, s.Contains, s.UnevaluatedItems, s.ContentSchema}
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.OneOf...)
	out = append(out, s.PrefixItems...)
	for _, p := range s.Properties {
		out = append(out, p)
	}
	for _, p := range s.PatternProperties {
		out = append(out, p)
	}
	for _, p := range s.DependentSchemas {
		out = append(out, p)
	}
	for _, d := range s.Dependencies {
		if p, ok := d.(*jsonschema.Schema); ok {
			out = append(out, p)
		}
	}
	for _, x := range []any{s.AdditionalProperties, s.AdditionalItems, s.Items} {
		switch x := x.(type) {
		case *jsonschema.Schema:
			out = append(out, x)
		case []*jsonschema.Schema:
			out = append(out, x...)
		}
	}
	return out
}
