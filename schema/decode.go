package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// formPrefix starts every trait key of a form or a flat JSON body.
const formPrefix = "traits."

// TraitsFromForm builds the traits from form values with dotted names
// ("traits.name.first"; a dot inside a name is written `\.`), typed by the
// schema at each path:
//   - number and integer values are parsed as float64 (an integer beyond
//     2^53, which a float64 may not hold exactly, is kept as a json.Number);
//     a value that is not a number is kept as the string, so validation
//     reports the wrong type;
//     a number that does not fit a float64 (1e400) is a *NumberError, the
//     only error;
//   - boolean: the last value of a repeated key wins ("true", "on", "1" or
//     "false", "off", "0"); anything else is kept as the string;
//   - strings: the last value wins;
//   - arrays take every repeated value, each typed by the item schema, and
//     items addressed by position ("traits.tags.0", "traits.tags.1") after
//     them, in index order;
//   - empty values are dropped, so a field left empty is left out;
//   - keys the schema does not know are kept as strings (several values as
//     an array of strings), so that validation can refuse them.
//
// Keys not starting with "traits." are ignored. Without an error the
// result is never nil.
func (s *Schema) TraitsFromForm(form url.Values) (map[string]any, error) {
	b := &formBuilder{s: s, root: map[string]any{}, arrays: map[string]*arrayParts{}}
	keys := make([]string, 0, len(form))
	for k := range form {
		if strings.HasPrefix(k, formPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.add(splitDotted(k[len(formPrefix):]), form[k])
	}
	if b.err != nil {
		return nil, b.err
	}
	return b.finish(), nil
}

// formBuilder collects form values into traits.
type formBuilder struct {
	s      *Schema
	root   map[string]any
	arrays map[string]*arrayParts // by JSON pointer
	err    error                  // the first number out of range
}

// arrayParts are the items an array trait received.
type arrayParts struct {
	path    []string
	plain   []any       // from repeated values of the array's own key
	indexed map[int]any // from "name.N" keys
}

func (b *formBuilder) array(path []string) *arrayParts {
	p := pointer(path)
	a := b.arrays[p]
	if a == nil {
		a = &arrayParts{path: path, indexed: map[int]any{}}
		b.arrays[p] = a
	}
	return a
}

func (b *formBuilder) add(path []string, values []string) {
	var filled []string
	for _, v := range values {
		if v != "" {
			filled = append(filled, v)
		}
	}
	if len(filled) == 0 {
		return
	}
	last := filled[len(filled)-1]

	if k, ok := b.s.kinds[pointer(path)]; ok {
		switch k.typ {
		case "array":
			a := b.array(path)
			for _, v := range filled {
				a.plain = append(a.plain, b.typed(path, v, k.item))
			}
		case "object":
			setPath(b.root, path, last) // not an object: validation says so
		default:
			setPath(b.root, path, b.typed(path, last, k.typ))
		}
		return
	}
	// An item of an array trait, addressed by its position.
	if n := len(path); n > 1 {
		if k, ok := b.s.kinds[pointer(path[:n-1])]; ok && k.typ == "array" {
			if i, err := strconv.Atoi(path[n-1]); err == nil && i >= 0 && strconv.Itoa(i) == path[n-1] {
				b.array(path[:n-1]).indexed[i] = b.typed(path, last, k.item)
				return
			}
		}
	}
	// Unknown to the schema: keep it, as text.
	if len(filled) == 1 {
		setPath(b.root, path, last)
		return
	}
	items := make([]any, len(filled))
	for i, v := range filled {
		items[i] = v
	}
	setPath(b.root, path, items)
}

func (b *formBuilder) finish() map[string]any {
	for _, p := range sortedKeys(b.arrays) {
		a := b.arrays[p]
		items := slices.Clone(a.plain)
		idx := make([]int, 0, len(a.indexed))
		for i := range a.indexed {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			items = append(items, a.indexed[i])
		}
		if items == nil {
			items = []any{}
		}
		setPath(b.root, a.path, items)
	}
	return b.root
}

// typed converts the form value at path to the JSON type the schema
// wants; a value that does not convert stays a string. A number out of
// range is recorded as the builder's error.
func (b *formBuilder) typed(path []string, v, jsonType string) any {
	switch jsonType {
	case "number", "integer":
		f, ok, syntax := parseNumber(v)
		if n := json.Number(strings.TrimSpace(v)); ok && identity.BeyondFloat(n) {
			return n // exact, as a JSON body's number is
		}
		if ok {
			return f
		}
		if syntax && b.err == nil {
			b.err = &NumberError{Number: strings.TrimSpace(v), Field: fieldName(path)}
		}
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "on", "1":
			return true
		case "false", "off", "0":
			return false
		}
	}
	return v
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// parseNumber accepts a JSON number (surrounding spaces allowed) that fits
// a float64; syntax reports whether v is a JSON number at all.
func parseNumber(v string) (f float64, ok, syntax bool) {
	v = strings.TrimSpace(v)
	if !jsonNumber.MatchString(v) {
		return 0, false, false
	}
	f, ok = FiniteNumber(v)
	return f, ok, true
}

// Bounds of a number's text: no float64 needs more digits or a larger
// exponent than this.
const (
	maxNumberText     = 400
	maxNumberExponent = 400
)

// absExponent is the absolute value of the exponent written in a number's
// text (after e or E), 0 without one; a number too long to read is huge.
func absExponent(s string) int {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
	if err != nil {
		return math.MaxInt
	}
	if n < 0 {
		return -n
	}
	return n
}

// FiniteNumber parses a number's text as a float64 and reports whether it
// is finite: it parses without a range error and is neither ±Inf nor NaN.
// A number that does not fit (1e400) cannot be read back from a stored
// record into a float64, so no such number may be accepted. A number too
// small to represent (1e-400) reads as 0 and is accepted.
func FiniteNumber(s string) (float64, bool) {
	if len(s) > maxNumberText || absExponent(s) > maxNumberExponent {
		// Within float64 once parsed, but exact comparisons of such text
		// (minimum, multipleOf, enum) take milliseconds each.
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// NumberError is a submitted number that is not a finite float64.
type NumberError struct {
	Number string // the number as sent
	Field  string // where, as a dotted name ("traits.zzz.0"); "" for the whole value
}

func (e *NumberError) Error() string {
	n := e.Number
	if len(n) > 40 {
		n = n[:32] + "... (" + strconv.Itoa(len(e.Number)) + " characters)"
	}
	if e.Field == "" {
		return fmt.Sprintf("The number %s is out of range.", n)
	}
	return fmt.Sprintf("The number %s at %s is out of range.", n, e.Field)
}

// CheckNumbers returns a *NumberError for the first number in a generic
// JSON value (maps, slices, json.Number or float64, as encoding/json
// decodes them) that is not finite (see FiniteNumber), or nil. Object keys
// are visited in sorted order, so the error is always the same one. path
// names v. The error's Field joins the keys (and array indexes) with dots,
// unescaped, as request bodies name traits: {"traits.a":…} and
// {"traits":{"a":…}} are both traits.a.
func CheckNumbers(v any, path ...string) error {
	switch n := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(n) {
			if err := CheckNumbers(n[k], append(slices.Clip(path), k)...); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range n {
			if err := CheckNumbers(e, append(slices.Clip(path), strconv.Itoa(i))...); err != nil {
				return err
			}
		}
	case json.Number:
		if _, ok := FiniteNumber(string(n)); !ok {
			return &NumberError{Number: string(n), Field: strings.Join(path, ".")}
		}
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return &NumberError{Number: strconv.FormatFloat(n, 'g', -1, 64), Field: strings.Join(path, ".")}
		}
	}
	return nil
}

// setPath sets value at path, creating objects on the way; a non-object
// in the way is replaced (the deeper value wins).
func setPath(root map[string]any, path []string, value any) {
	cur := root
	for _, p := range path[:len(path)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[path[len(path)-1]] = value
}

// splitDotted splits a dotted name into its segments; `\.` is a dot inside
// a segment.
func splitDotted(name string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(name); i++ {
		switch {
		case name[i] == '\\' && i+1 < len(name) && name[i+1] == '.':
			cur.WriteByte('.')
			i++
		case name[i] == '.':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(name[i])
		}
	}
	return append(out, cur.String())
}

// TraitsFromJSON returns the traits of a JSON body (decoded with
// UseNumber): the object under "traits", and every flat dotted key
// ("traits.email"); the two may be mixed, and keys inside the "traits"
// object may be dotted too ({"traits":{"name.first":"x"}}). Values are
// kept as sent: validation reports wrong types. A "traits" member that is
// not an object, or two values for the same trait, is an error. The result
// is never nil and shares no object or array with body.
func (s *Schema) TraitsFromJSON(body map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if t, ok := body["traits"]; ok {
		m, ok := t.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("traits must be a JSON object, not %s", jsonType(t))
		}
		for _, k := range sortedKeys(m) {
			path := []string{k}
			if strings.Contains(k, ".") {
				path = splitDotted(k)
			}
			if err := mergePath(out, path, deepCopy(m[k])); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range sortedKeys(body) {
		if rest, ok := strings.CutPrefix(k, formPrefix); ok {
			if err := mergePath(out, splitDotted(rest), deepCopy(body[k])); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// mergePath sets value at path; objects met on the way, or already at
// path, are merged with it, any other clash is an error.
func mergePath(root map[string]any, path []string, value any) error {
	return mergeInto(root, path, 0, value)
}

func mergeInto(cur map[string]any, path []string, i int, value any) error {
	key := path[i]
	old, exists := cur[key]
	if i < len(path)-1 {
		if !exists {
			m := map[string]any{}
			cur[key] = m
			return mergeInto(m, path, i+1, value)
		}
		m, ok := old.(map[string]any)
		if !ok {
			return clash(path[:i+1])
		}
		return mergeInto(m, path, i+1, value)
	}
	if !exists {
		cur[key] = value
		return nil
	}
	om, ok1 := old.(map[string]any)
	nm, ok2 := value.(map[string]any)
	if !ok1 || !ok2 {
		return clash(path)
	}
	for _, k := range sortedKeys(nm) {
		if err := mergeInto(om, append(slices.Clip(path), k), len(path), nm[k]); err != nil {
			return err
		}
	}
	return nil
}

// clashError says a trait was given twice.
type clashError struct{ field string }

func (e clashError) Error() string { return fmt.Sprintf("%s is given more than once", e.field) }

func clash(path []string) error { return clashError{fieldName(path)} }
