package schema

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// FieldError is one failing schema keyword on one trait.
type FieldError struct {
	Field   string         // dotted: "traits.name.first"
	Keyword string         // "minLength", "required", "format", ...
	ID      int            // Kratos v1 message id
	Text    string         // Kratos v1 text, e.g. "length must be >= 5, but got 3"
	Context map[string]any // Kratos v1 context, e.g. {"min_length":5,"actual_length":3}
	Legacy  string         // legacy profile API wording, with the field: "traits.name.first: Must be at least 5 characters long"
}

// Validate checks traits (decoded generic JSON: map[string]any, []any,
// string, bool, nil, json.Number or float64) against the schema. It returns
// nil when they are valid, else one error per failing keyword and trait, in
// schema field order and then keyword order. A "required" error is placed
// on the missing trait itself, an "additionalProperties" error on the
// unexpected trait, so no error lands on a "traits" pseudo-field unless the
// traits as a whole are wrong (for example not an object). A login
// identifier that cannot be normalised (NormalizeIdentifier) is an error
// on its trait, with the keyword "identifier".
func (s *Schema) Validate(traits any) []FieldError {
	doc := traits
	if s.wrapped {
		doc = map[string]any{"traits": traits}
	}
	var found []issue
	if err := s.root.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return []FieldError{s.fieldError(generic(nil, "type", "the traits are not valid JSON values", "Must be valid JSON"))}
		}
		s.collect(ve, doc, &found)
	}
	found = append(found, s.identifierIssues(traits, found)...)
	if len(found) == 0 {
		return nil
	}

	// Sort before removing duplicates, so the one kept does not depend on
	// the order the library met them in (it walks Go maps).
	slices.SortStableFunc(found, func(a, b issue) int {
		return cmp.Or(s.compareIssues(a, b), strings.Compare(a.at, b.at))
	})
	seen := map[string]bool{}
	kept := found[:0]
	for _, is := range found {
		k := is.field() + "\x00" + is.keyword
		if !seen[k] {
			seen[k] = true
			kept = append(kept, is)
		}
	}
	out := make([]FieldError, len(kept))
	for i, is := range kept {
		out[i] = s.fieldError(is)
	}
	return out
}

// collect walks the error tree and describes every leaf.
func (s *Schema) collect(ve *jsonschema.ValidationError, doc any, out *[]issue) {
	kw := ve.KeywordLocation[strings.LastIndexByte(ve.KeywordLocation, '/')+1:]
	if len(ve.Causes) > 0 && kw != "minContains" {
		for _, c := range ve.Causes {
			s.collect(c, doc, out)
		}
		return
	}
	sc, kw := s.keywordSchema(ve.AbsoluteKeywordLocation)
	inst := libraryTokens(ve.InstanceLocation)
	value, _ := lookup(doc, inst)
	if sc != nil && strings.HasSuffix(locationPointer(sc.Location), "/propertyNames") && len(inst) > 0 {
		value = inst[len(inst)-1] // the name itself is the instance
	}
	path, outside := inst, false
	if s.wrapped {
		if len(inst) > 0 && inst[0] == "traits" {
			path = inst[1:]
		} else {
			outside = true
		}
	}
	var found []issue
	if sc != nil {
		found = describe(sc, kw, path, value)
	}
	if len(found) == 0 { // a keyword this package does not know
		if kw == "" {
			kw = "schema"
		}
		found = []issue{generic(path, kw, kw+" failed", "Is not valid")}
	}
	for i := range found {
		found[i].outside = outside
		found[i].at = ve.AbsoluteKeywordLocation
	}
	*out = append(*out, found...)
}

// keywordSchema finds the compiled schema an absolute keyword location
// belongs to, and the keyword ("" for a false schema).
func (s *Schema) keywordSchema(loc string) (*jsonschema.Schema, string) {
	rest := ""
	for {
		// A location that is itself a schema is the keyword "" of a false
		// schema, or else a keyword holding a schema ("not") of its parent.
		if sc, ok := s.byLoc[loc]; ok && (rest != "" || (sc.Always != nil && !*sc.Always)) {
			kw, _, _ := strings.Cut(rest, "/")
			return sc, kw
		}
		i := strings.LastIndexByte(loc, '/')
		if i < 0 {
			return nil, ""
		}
		rest = loc[i+1:] + "/" + rest
		loc = loc[:i]
	}
}

// issue is a FieldError before its field name is made.
type issue struct {
	path    []string // below traits
	outside bool     // the error is outside the traits (modern shape only)
	at      string   // the library's absolute keyword location, to order duplicates
	keyword string
	id      int
	text    string
	context map[string]any
	legacy  string // without the field prefix
}

func issueAt(path []string, keyword string, id int, text string, legacy string, ctx ...any) issue {
	is := issue{path: path, keyword: keyword, id: id, text: text, legacy: legacy}
	if len(ctx) > 0 {
		is.context = map[string]any{}
		for i := 0; i+1 < len(ctx); i += 2 {
			is.context[ctx[i].(string)] = ctx[i+1]
		}
	}
	return is
}

// field is the dotted field name. Errors outside the traits (a modern
// schema may constrain more of the identity) are named by their own path.
func (is issue) field() string {
	if is.outside && len(is.path) > 0 {
		return strings.Join(is.path, ".")
	}
	return fieldName(is.path)
}

func (s *Schema) fieldError(is issue) FieldError {
	name := is.field()
	return FieldError{
		Field:   name,
		Keyword: is.keyword,
		ID:      is.id,
		Text:    is.text,
		Context: is.context,
		Legacy:  name + ": " + is.legacy,
	}
}

// fieldName makes the dotted field name of a path below traits. A dot
// inside a name is escaped as `\.` (as Kratos does).
func fieldName(path []string) string {
	var b strings.Builder
	b.WriteString("traits")
	for _, p := range path {
		b.WriteByte('.')
		b.WriteString(strings.ReplaceAll(p, ".", `\.`))
	}
	return b.String()
}

// compareIssues orders by field position in the schema (unknown names
// after known ones, array indexes numerically), then by keyword.
func (s *Schema) compareIssues(a, b issue) int {
	if a.outside != b.outside {
		if a.outside {
			return -1
		}
		return 1
	}
	if c := s.comparePaths(a.path, b.path); c != 0 {
		return c
	}
	return cmp.Compare(keywordRank(a.keyword), keywordRank(b.keyword))
}

func (s *Schema) comparePaths(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		ra, oka := s.rank[pointer(a[:i+1])]
		rb, okb := s.rank[pointer(b[:i+1])]
		switch {
		case oka && okb:
			return cmp.Compare(ra, rb)
		case oka:
			return -1
		case okb:
			return 1
		}
		na, ea := strconv.Atoi(a[i])
		nb, eb := strconv.Atoi(b[i])
		if ea == nil && eb == nil {
			return cmp.Compare(na, nb)
		}
		return strings.Compare(a[i], b[i])
	}
	return cmp.Compare(len(a), len(b))
}

// keywordOrder is the order of errors on one field.
var keywordOrder = []string{
	"false", "required", "dependentRequired", "dependencies", "additionalProperties", "unevaluatedProperties",
	"type", "const", "enum", "format", "identifier", "pattern", "minLength", "maxLength",
	"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf",
	"minItems", "maxItems", "uniqueItems", "additionalItems", "minContains", "maxContains",
	"minProperties", "maxProperties", "propertyNames", "not", "oneOf", "anyOf",
}

func keywordRank(kw string) int {
	if i := slices.Index(keywordOrder, kw); i >= 0 {
		return i
	}
	return len(keywordOrder)
}

// String formats the error as the legacy profile API shows it.
func (e FieldError) String() string { return e.Legacy }
