package schema

import (
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Field is one input of a traits form: a leaf path of the traits schema.
// Object-typed paths produce no field of their own; an array is one field.
type Field struct {
	Name                 string   // "traits.name.first"
	Path                 []string // ["name","first"]
	Type                 string   // HTML input type: text, email, number, checkbox, tel, date, datetime-local, url
	JSONType             string   // "string", "number", "integer", "boolean", "array"
	Format               string   // the schema "format" (of the items, for arrays)
	Required             bool     // the parent object lists it in "required"
	Pattern              string   // the schema "pattern" (of the items, for arrays)
	MinLength, MaxLength int      // -1 when unset
	Title                string   // label
	Enum                 []any    // allowed values (of the items, for arrays)
	ReadOnly             bool     // "readOnly": true on the trait or an enclosing object
	Identifier           bool     // ory.sh/kratos credentials.password.identifier
	VerificationVia      string   // ory.sh/kratos verification.via ("email", "sms")
	RecoveryVia          string   // ory.sh/kratos recovery.via ("email", "sms")
}

// Fields lists the form fields of the traits, in the schema's own key
// order. The result is a copy; callers may change it.
func (s *Schema) Fields() []Field {
	out := make([]Field, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.Field
		out[i].Path = slices.Clone(f.Path)
		out[i].Enum = slices.Clone(f.Enum)
	}
	return out
}

// fieldInfo is a Field plus what decoding needs.
type fieldInfo struct {
	Field
	itemType string // JSON type of the items, for arrays
}

// pathKind is what the schema expects at a path below traits.
type pathKind struct {
	typ  string // "object", "array", "string", "number", "integer", "boolean"
	item string // item type, for arrays
}

// maxDepth bounds the nesting of trait objects (a safety net; cycles are
// caught before).
const maxDepth = 32

// source is a schema applying to an instance, and whether it applies only
// conditionally (a branch of anyOf/oneOf, whose "required" is not certain).
type source struct {
	s           *jsonschema.Schema
	conditional bool
}

// fieldWalker turns the compiled schema into fields.
type fieldWalker struct {
	keys   map[string][]string
	fields []fieldInfo
	kinds  map[string]pathKind
	rank   map[string]int
}

// buildFields finds the traits schema (modern or legacy shape) and lists
// its fields.
func (s *Schema) buildFields(doc *document) {
	w := &fieldWalker{keys: doc.keys, kinds: map[string]pathKind{}, rank: map[string]int{}}
	start := []*jsonschema.Schema{s.root}
	var traits []*jsonschema.Schema
	for _, src := range expand(start) {
		if p := src.s.Properties["traits"]; p != nil {
			traits = append(traits, p)
		}
	}
	if len(traits) > 0 && isObject(expand(traits)) {
		s.wrapped = true
		start = traits
	}
	w.walk(start, nil, false, false, nil, 0)
	s.fields, s.kinds, s.rank = w.fields, w.kinds, w.rank
}

// expand lists the given schemas and, depth first, every schema applied to
// the same instance through $ref, allOf, anyOf and oneOf; each once.
func expand(direct []*jsonschema.Schema) []source {
	seen := map[*jsonschema.Schema]bool{}
	var out []source
	var visit func(s *jsonschema.Schema, cond bool)
	visit = func(s *jsonschema.Schema, cond bool) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, source{s, cond})
		visit(s.Ref, cond)
		for _, a := range s.AllOf {
			visit(a, cond)
		}
		for _, a := range s.AnyOf {
			visit(a, true)
		}
		for _, a := range s.OneOf {
			visit(a, true)
		}
	}
	for _, d := range direct {
		visit(d, false)
	}
	return out
}

// types is the first non-empty "type" among the sources.
func types(exp []source) []string {
	for _, src := range exp {
		if len(src.s.Types) > 0 {
			return src.s.Types
		}
	}
	return nil
}

func isObject(exp []source) bool {
	if t := types(exp); len(t) > 0 {
		return slices.Contains(t, "object")
	}
	for _, src := range exp {
		if len(src.s.Properties) > 0 {
			return true
		}
	}
	return false
}

// primaryType is the JSON type a leaf is treated as: its first declared
// non-null type, else the type of its first enum value, else "string".
func primaryType(exp []source) string {
	for _, t := range types(exp) {
		if t != "null" {
			return t
		}
	}
	for _, src := range exp {
		if len(src.s.Enum) > 0 {
			if t := jsonType(src.s.Enum[0]); t != "null" && t != "object" {
				return t
			}
		}
	}
	return "string"
}

func (w *fieldWalker) walk(direct []*jsonschema.Schema, path []string, required, readOnly bool, ancestors []string, depth int) {
	exp := expand(direct)
	for _, src := range exp {
		if src.s.Always != nil && !*src.s.Always {
			return // "false": nothing is allowed here
		}
	}
	ptr := pointer(path)
	w.rank[ptr] = len(w.rank)
	for _, src := range exp {
		readOnly = readOnly || src.s.ReadOnly
	}
	if isObject(exp) {
		w.kinds[ptr] = pathKind{typ: "object"}
		for _, name := range w.propertyNames(direct) {
			var child []*jsonschema.Schema
			var locs []string
			req := false
			for _, src := range exp {
				if p := src.s.Properties[name]; p != nil {
					child = append(child, p)
					locs = append(locs, p.Location)
				}
				if !src.conditional && slices.Contains(src.s.Required, name) {
					req = true
				}
			}
			key := strings.Join(locs, "\n")
			if depth >= maxDepth || slices.Contains(ancestors, key) {
				continue // the schema recurses into itself here
			}
			childPath := append(slices.Clip(path), name)
			w.walk(child, childPath, req, readOnly, append(slices.Clip(ancestors), key), depth+1)
		}
		return
	}
	if len(path) == 0 {
		return // traits that are not an object have no fields
	}
	w.leaf(exp, path, required, readOnly)
}

// leaf adds the field at path, merging what its schemas say (the first
// schema that says something wins; for arrays the items are asked next).
func (w *fieldWalker) leaf(exp []source, path []string, required, readOnly bool) {
	f := fieldInfo{Field: Field{
		Name:      fieldName(path),
		Path:      path,
		JSONType:  primaryType(exp),
		Required:  required,
		MinLength: -1,
		MaxLength: -1,
		ReadOnly:  readOnly,
	}}
	all := exp
	if f.JSONType == "array" {
		var items []*jsonschema.Schema
		for _, src := range exp {
			if it, ok := src.s.Items.(*jsonschema.Schema); ok {
				items = append(items, it)
			}
			if src.s.Items2020 != nil {
				items = append(items, src.s.Items2020)
			}
		}
		itemExp := expand(items)
		f.itemType = "string"
		if len(itemExp) > 0 {
			f.itemType = primaryType(itemExp)
		}
		all = append(slices.Clip(exp), itemExp...)
	}
	for _, src := range exp {
		if f.Title == "" {
			f.Title = src.s.Title
		}
	}
	for _, src := range all {
		sc := src.s
		if f.Format == "" {
			f.Format = sc.Format
		}
		if f.Pattern == "" && sc.Pattern != nil {
			f.Pattern = sc.Pattern.String()
		}
		if f.MinLength < 0 {
			f.MinLength = sc.MinLength
		}
		if f.MaxLength < 0 {
			f.MaxLength = sc.MaxLength
		}
		if f.Enum == nil && len(sc.Enum) > 0 {
			f.Enum = slices.Clone(sc.Enum)
		}
		if ext, ok := sc.Extensions[ExtensionKeyword].(*extConfig); ok {
			f.Identifier = f.Identifier || ext.identifier
			if f.VerificationVia == "" {
				f.VerificationVia = ext.verificationVia
			}
			if f.RecoveryVia == "" {
				f.RecoveryVia = ext.recoveryVia
			}
		}
	}
	typ := f.JSONType
	if typ == "array" {
		typ = f.itemType
	}
	f.Type = inputType(f.Format, typ)
	w.kinds[pointer(path)] = pathKind{typ: f.JSONType, item: f.itemType}
	w.fields = append(w.fields, f)
}

// inputType infers the HTML input type from the format and the JSON type.
func inputType(format, jsonType string) string {
	switch format {
	case "email":
		return "email"
	case "date":
		return "date"
	case "date-time":
		return "datetime-local"
	case "uri":
		return "url"
	case "tel":
		return "tel"
	}
	switch jsonType {
	case "number", "integer":
		return "number"
	case "boolean":
		return "checkbox"
	}
	return "text"
}

// The order in which property sources are visited when the raw key order
// of a schema object is unknown.
var defaultKeyOrder = []string{"properties", "$ref", "allOf", "anyOf", "oneOf"}

// propertyNames lists the property names of the object the direct schemas
// describe, following $ref, allOf, anyOf and oneOf in the order their
// keywords appear in the document, and the properties in document order.
func (w *fieldWalker) propertyNames(direct []*jsonschema.Schema) []string {
	seen := map[*jsonschema.Schema]bool{}
	have := map[string]bool{}
	var out []string
	add := func(s *jsonschema.Schema, ptr string) {
		for _, n := range w.orderedProperties(s, ptr) {
			if !have[n] {
				have[n] = true
				out = append(out, n)
			}
		}
	}
	var visit func(s *jsonschema.Schema)
	visit = func(s *jsonschema.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		ptr := locationPointer(s.Location)
		keys, ok := w.keys[ptr]
		if !ok {
			keys = defaultKeyOrder
		}
		for _, k := range keys {
			switch k {
			case "properties":
				add(s, ptr)
			case "$ref":
				visit(s.Ref)
			case "allOf":
				for _, a := range s.AllOf {
					visit(a)
				}
			case "anyOf":
				for _, a := range s.AnyOf {
					visit(a)
				}
			case "oneOf":
				for _, a := range s.OneOf {
					visit(a)
				}
			}
		}
		add(s, ptr) // in case the document did not tell
	}
	for _, d := range direct {
		visit(d)
	}
	return out
}

// orderedProperties lists the names of s.Properties in document order
// (names the document does not list come last, sorted).
func (w *fieldWalker) orderedProperties(s *jsonschema.Schema, ptr string) []string {
	if len(s.Properties) == 0 {
		return nil
	}
	out := make([]string, 0, len(s.Properties))
	listed := map[string]bool{}
	for _, k := range w.keys[ptr+"/properties"] {
		if _, ok := s.Properties[k]; ok {
			out = append(out, k)
			listed[k] = true
		}
	}
	var rest []string
	for k := range s.Properties {
		if !listed[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}
