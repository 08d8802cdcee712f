package schema

import (
	"encoding/json"
	"math/big"
	"strconv"
)

// lookup returns the value at path inside nested JSON objects (and arrays,
// for numeric segments).
func lookup(v any, path []string) (any, bool) {
	cur := v
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[p]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// jsonType names the JSON type of a decoded value, as JSON Schema does
// ("number" for every number).
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "number"
	}
	return "unknown"
}

// toFloat converts a decoded JSON number to float64.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// toRat converts a decoded JSON number to an exact rational.
func toRat(v any) (*big.Rat, bool) {
	if n, ok := v.(json.Number); ok {
		return new(big.Rat).SetString(string(n))
	}
	f, ok := toFloat(v)
	if !ok {
		return nil, false
	}
	r := new(big.Rat)
	if r.SetFloat64(f) == nil {
		return nil, false
	}
	return r, true
}

// jsonEqual compares two decoded JSON values by JSON semantics: numbers by
// value (json.Number "1" equals float64 1), objects by members, arrays by
// items in order.
func jsonEqual(a, b any) bool {
	ta, tb := jsonType(a), jsonType(b)
	if ta != tb {
		return false
	}
	switch ta {
	case "number":
		ra, oka := toRat(a)
		rb, okb := toRat(b)
		return oka && okb && ra.Cmp(rb) == 0
	case "object":
		ma, mb := a.(map[string]any), b.(map[string]any)
		if len(ma) != len(mb) {
			return false
		}
		for k, va := range ma {
			vb, ok := mb[k]
			if !ok || !jsonEqual(va, vb) {
				return false
			}
		}
		return true
	case "array":
		aa, ab := a.([]any), b.([]any)
		if len(aa) != len(ab) {
			return false
		}
		for i := range aa {
			if !jsonEqual(aa[i], ab[i]) {
				return false
			}
		}
		return true
	case "unknown":
		return false
	default:
		return a == b
	}
}

// deepCopy copies the objects and arrays of a decoded JSON value, so the
// result can be changed without touching the original; leaves are shared.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = deepCopy(x)
		}
		return a
	}
	return v
}
