package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/seed06f30684/caddy-kratos/text"
)

// generic is a message without an id of its own: Kratos gives it 4000001
// with the text repeated as the context's reason.
func generic(path []string, keyword, msg, legacy string) issue {
	return issueAt(path, keyword, text.ErrorValidationGeneric, msg, legacy, "reason", msg)
}

// describe builds the messages for the failing keyword kw of the compiled
// schema sc on value, found at path below traits. The texts are made here
// from the keyword and the values, never taken from the library, whose
// wording differs from Kratos'. "required" and "additionalProperties" give
// one message per missing or unexpected property, placed on it.
func describe(sc *jsonschema.Schema, kw string, path []string, value any) []issue {
	one := func(is issue) []issue { return []issue{is} }
	child := func(name string) []string { return append(slices.Clip(path), name) }

	switch kw {
	case "required":
		m, _ := value.(map[string]any)
		var out []issue
		for _, name := range sc.Required {
			if _, ok := m[name]; !ok {
				out = append(out, requiredIssue(child(name), kw, name))
			}
		}
		return out

	case "dependencies", "dependentRequired":
		m, _ := value.(map[string]any)
		deps := map[string][]string{}
		for name, d := range sc.Dependencies {
			if list, ok := d.([]string); ok {
				deps[name] = list
			}
		}
		for name, list := range sc.DependentRequired {
			deps[name] = list
		}
		var out []issue
		for _, name := range sortedKeys(deps) {
			if _, ok := m[name]; !ok {
				continue
			}
			for _, need := range deps[name] {
				if _, ok := m[need]; !ok {
					out = append(out, requiredIssue(child(need), kw, need))
				}
			}
		}
		return out

	case "additionalProperties":
		m, _ := value.(map[string]any)
		var out []issue
		for _, name := range sortedKeys(m) {
			if !declared(sc, name) {
				out = append(out, notAllowedIssue(child(name), kw, name))
			}
		}
		return out

	case "":
		// A false schema. Under additionalProperties or
		// unevaluatedProperties it means "this property is not allowed".
		ptr := locationPointer(sc.Location)
		parent := ptr[strings.LastIndexByte(ptr, '/')+1:]
		if (parent == "additionalProperties" || parent == "unevaluatedProperties") && len(path) > 0 {
			return one(notAllowedIssue(path, parent, path[len(path)-1]))
		}
		return one(generic(path, "false", "not allowed", "Is not allowed"))

	case "type":
		allowed := slices.Clone(sc.Types)
		actual := jsonType(value)
		return one(issueAt(path, kw, text.ErrorValidationWrongType,
			fmt.Sprintf("expected %s, but got %s", strings.Join(allowed, " or "), actual),
			"Must be "+typeList(allowed),
			"allowed_types", allowed, "actual_type", actual))

	case "format":
		var msg string
		if str, ok := value.(string); ok {
			msg = fmt.Sprintf("%q is not valid %q", str, sc.Format)
		} else {
			msg = fmt.Sprintf("%s is not valid %q", plain(value), sc.Format)
		}
		legacy := "Must be a valid " + sc.Format
		if sc.Format == "email" {
			legacy = "Must be a valid email address"
		}
		return one(generic(path, kw, msg, legacy))

	case "pattern":
		re := sc.Pattern.String()
		return one(issueAt(path, kw, text.ErrorValidationInvalidFormat, fmt.Sprintf("does not match pattern %q", re),
			"Must match the pattern "+re, "pattern", re))

	case "minLength", "maxLength":
		str, _ := value.(string)
		n := utf8.RuneCountInString(str)
		if kw == "minLength" {
			return one(issueAt(path, kw, text.ErrorValidationMinLength,
				fmt.Sprintf("length must be >= %d, but got %d", sc.MinLength, n),
				fmt.Sprintf("Must be at least %d characters long", sc.MinLength),
				"min_length", sc.MinLength, "actual_length", n))
		}
		return one(issueAt(path, kw, text.ErrorValidationMaxLength,
			fmt.Sprintf("length must be <= %d, but got %d", sc.MaxLength, n),
			fmt.Sprintf("Must be at most %d characters long", sc.MaxLength),
			"max_length", sc.MaxLength, "actual_length", n))

	case "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum":
		actual, _ := toFloat(value)
		var (
			limit        float64
			id           int
			op, key, say string
		)
		switch kw {
		case "minimum":
			limit, id, op, key, say = ratFloat(sc.Minimum), text.ErrorValidationMinimum, ">=", "minimum", "Must be at least "
		case "exclusiveMinimum":
			limit, id, op, key, say = ratFloat(sc.ExclusiveMinimum), text.ErrorValidationExclusiveMinimum, ">", "minimum", "Must be greater than "
		case "maximum":
			limit, id, op, key, say = ratFloat(sc.Maximum), text.ErrorValidationMaximum, "<=", "maximum", "Must be at most "
		default:
			limit, id, op, key, say = ratFloat(sc.ExclusiveMaximum), text.ErrorValidationExclusiveMaximum, "<", "maximum", "Must be less than "
		}
		return one(issueAt(path, kw, id, fmt.Sprintf("must be %s %v but found %v", op, limit, actual),
			say+number(limit), key, limit, "actual", actual))

	case "multipleOf":
		actual, _ := toFloat(value)
		base := ratFloat(sc.MultipleOf)
		return one(issueAt(path, kw, text.ErrorValidationMultipleOf, fmt.Sprintf("%v not multipleOf %v", actual, base),
			"Must be a multiple of "+number(base), "base", base, "actual", actual))

	case "minItems", "maxItems":
		arr, _ := value.([]any)
		if kw == "minItems" {
			return one(issueAt(path, kw, text.ErrorValidationMinItems,
				fmt.Sprintf("minimum %d items allowed, but found %d items", sc.MinItems, len(arr)),
				fmt.Sprintf("Must have at least %d %s", sc.MinItems, plural(sc.MinItems, "item", "items")),
				"min_items", sc.MinItems, "actual_items", len(arr)))
		}
		return one(issueAt(path, kw, text.ErrorValidationMaxItems,
			fmt.Sprintf("maximum %d items allowed, but found %d items", sc.MaxItems, len(arr)),
			fmt.Sprintf("Must have at most %d %s", sc.MaxItems, plural(sc.MaxItems, "item", "items")),
			"max_items", sc.MaxItems, "actual_items", len(arr)))

	case "uniqueItems":
		arr, _ := value.([]any)
		a, b := duplicate(arr)
		return one(issueAt(path, kw, text.ErrorValidationUniqueItems, fmt.Sprintf("items at index %d and %d are equal", a, b),
			"Must not contain duplicate items", "index_a", a, "index_b", b))

	case "enum":
		return one(generic(path, kw, enumText(sc.Enum), "Must be one of: "+plainList(sc.Enum)))

	case "const":
		c := sc.Constant[0]
		switch jsonType(c) {
		case "object", "array":
			return one(issueAt(path, kw, text.ErrorValidationConstGeneric, "const failed", "Must be equal to the expected value"))
		}
		return one(issueAt(path, kw, text.ErrorValidationConst, fmt.Sprintf("must be equal to constant %s", plain(c)),
			"Must be equal to "+plain(c), "expected", c))

	case "minProperties", "maxProperties":
		m, _ := value.(map[string]any)
		if kw == "minProperties" {
			return one(generic(path, kw,
				fmt.Sprintf("minimum %d properties allowed, but found %d properties", sc.MinProperties, len(m)),
				fmt.Sprintf("Must have at least %d %s", sc.MinProperties, plural(sc.MinProperties, "property", "properties"))))
		}
		return one(generic(path, kw,
			fmt.Sprintf("maximum %d properties allowed, but found %d properties", sc.MaxProperties, len(m)),
			fmt.Sprintf("Must have at most %d %s", sc.MaxProperties, plural(sc.MaxProperties, "property", "properties"))))

	case "additionalItems":
		arr, _ := value.([]any)
		items, _ := sc.Items.([]*jsonschema.Schema)
		return one(generic(path, kw,
			fmt.Sprintf("only %d items are allowed, but found %d items", len(items), len(arr)),
			fmt.Sprintf("Must have at most %d %s", len(items), plural(len(items), "item", "items"))))

	case "minContains":
		return one(generic(path, kw,
			fmt.Sprintf("must contain at least %d matching items", sc.MinContains),
			fmt.Sprintf("Must contain at least %d matching %s", sc.MinContains, plural(sc.MinContains, "item", "items"))))

	case "maxContains":
		return one(generic(path, kw,
			fmt.Sprintf("must contain at most %d matching items", sc.MaxContains),
			fmt.Sprintf("Must contain at most %d matching %s", sc.MaxContains, plural(sc.MaxContains, "item", "items"))))

	case "not":
		return one(generic(path, kw, "not failed", "Is not an allowed value"))

	case "oneOf":
		return one(generic(path, kw, "valid against more than one schema of oneOf", "Must match exactly one of the allowed forms"))

	case "contentEncoding":
		return one(generic(path, kw, fmt.Sprintf("value is not %s encoded", sc.ContentEncoding),
			"Must be "+sc.ContentEncoding+" encoded"))

	case "contentMediaType":
		return one(generic(path, kw, fmt.Sprintf("value is not of media type %q", sc.ContentMediaType),
			"Must be of media type "+sc.ContentMediaType))

	case "contentSchema":
		return one(generic(path, kw, "value is not valid JSON", "Must contain valid JSON"))
	}
	return nil
}

func requiredIssue(path []string, keyword, name string) issue {
	return issueAt(path, keyword, text.ErrorValidationRequired, fmt.Sprintf("Property %s is missing.", name), "Is required", "property", name)
}

func notAllowedIssue(path []string, keyword, name string) issue {
	return generic(path, keyword, fmt.Sprintf("%s %q not allowed", keyword, name), "Is not an allowed field")
}

// declared reports whether the object schema sc describes the property
// name itself (properties or patternProperties).
func declared(sc *jsonschema.Schema, name string) bool {
	if _, ok := sc.Properties[name]; ok {
		return true
	}
	for re := range sc.PatternProperties {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// duplicate finds the first pair of equal items (a < b).
func duplicate(arr []any) (int, int) {
	for b := 1; b < len(arr); b++ {
		for a := 0; a < b; a++ {
			if jsonEqual(arr[a], arr[b]) {
				return a, b
			}
		}
	}
	return 0, 0
}

// enumText is the Kratos wording: value must be one of "a", "b".
func enumText(enum []any) string {
	items := make([]string, len(enum))
	for i, v := range enum {
		switch v := v.(type) {
		case string:
			items[i] = strconv.Quote(v)
		case map[string]any, []any:
			return "enum failed"
		default:
			items[i] = plain(v)
		}
	}
	if len(items) == 1 {
		return "value must be " + items[0]
	}
	return "value must be one of " + strings.Join(items, ", ")
}

// typeList says a list of JSON types with articles: "a string or a number".
func typeList(types []string) string {
	words := make([]string, len(types))
	for i, t := range types {
		switch t {
		case "null":
			words[i] = "null"
		case "integer", "array", "object":
			words[i] = "an " + t
		default:
			words[i] = "a " + t
		}
	}
	return orList(words)
}

// orList joins "a", "b", "c" as "a, b or c".
func orList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// plainList lists values as the legacy wording shows them: a, b.
func plainList(values []any) string {
	items := make([]string, len(values))
	for i, v := range values {
		items[i] = plain(v)
	}
	return strings.Join(items, ", ")
}

// plain shows a JSON value without quotes around strings.
func plain(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	}
	if f, ok := toFloat(v); ok {
		return number(f)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// number shows a number in plain decimal notation (5, 2.5, 1000000).
func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func ratFloat(r *big.Rat) float64 {
	if r == nil {
		return 0
	}
	f, _ := r.Float64()
	return f
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
