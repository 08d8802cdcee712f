// Package recordcopy copies the stores' records (identities, sessions,
// flows) deeply, giving what a JSON round trip gives without one: the memory
// store keeps Go values with it, and the Redis store hands out copies of
// the records it decoded before.
package recordcopy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// A record is copied deeply, so that no caller can change a kept record
// through a pointer, slice or map it holds, and a read costs a copy instead
// of a JSON decode.
//
// The copy gives what a JSON round trip (json.Marshal, then
// json.Unmarshal) gives, which is what the Redis store answers with, so
// both stores answer alike:
//   - a number in an `any` value is a float64 (an int, a json.Number), but
//     in identity traits an integer beyond 2^53 stays a json.Number
//     (identity.BeyondFloat, Identity.UnmarshalJSON);
//   - other Go values in an `any` become what JSON makes of them
//     ([]string becomes []any, a struct a map[string]any);
//   - an empty field tagged omitempty, a field tagged "-" and an unexported
//     field are left zero; a json.RawMessage is compacted;
//   - a time.Time loses its monotonic clock reading.
//
// Strings are immutable and shared, not copied.

// Clone returns a deep copy of *v as a JSON round trip would make it; the
// error is what json.Marshal would have refused.
func Clone[T any](v *T) (*T, error) {
	out := new(T)
	if err := copyValue(reflect.ValueOf(out).Elem(), reflect.ValueOf(v).Elem(), false); err != nil {
		return nil, fmt.Errorf("copy %T: %w", v, err)
	}
	return out, nil
}

var (
	timeType       = reflect.TypeFor[time.Time]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	identityType   = reflect.TypeFor[identity.Identity]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
	unmarshalType  = reflect.TypeFor[json.Unmarshaler]()
)

// copyValue sets dst (settable, zero) to a copy of src, of the same type.
// exact keeps integers beyond 2^53 in `any` values as json.Number (traits).
func copyValue(dst, src reflect.Value, exact bool) error {
	t := src.Type()
	switch {
	case t == timeType:
		tm := src.Interface().(time.Time)
		if y := tm.Year(); y < 0 || y >= 10000 {
			return fmt.Errorf("json: time %v: year outside of range [0,9999]", y)
		}
		dst.Set(reflect.ValueOf(tm.Round(0)))
		return nil
	case t == rawMessageType:
		raw := src.Bytes()
		if len(raw) == 0 {
			return nil
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return err
		}
		dst.SetBytes(buf.Bytes())
		return nil
	case t == identityType:
		return copyStruct(dst, src, "Traits")
	case t.Kind() != reflect.Interface && t.Kind() != reflect.Pointer &&
		(t.Implements(marshalerType) || reflect.PointerTo(t).Implements(unmarshalType)):
		return roundTrip(dst, src)
	}
	switch t.Kind() {
	case reflect.Struct:
		return copyStruct(dst, src, "")
	case reflect.Pointer:
		if src.IsNil() {
			return nil
		}
		p := reflect.New(t.Elem())
		if err := copyValue(p.Elem(), src.Elem(), exact); err != nil {
			return err
		}
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			dst.SetBytes(bytes.Clone(src.Bytes()))
			return nil
		}
		s := reflect.MakeSlice(t, src.Len(), src.Len())
		for i := range src.Len() {
			if err := copyValue(s.Index(i), src.Index(i), exact); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			if err := copyValue(dst.Index(i), src.Index(i), exact); err != nil {
				return err
			}
		}
	case reflect.Map:
		if src.IsNil() {
			return nil
		}
		if t.Key().Kind() != reflect.String {
			return roundTrip(dst, src)
		}
		m := reflect.MakeMapWithSize(t, src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(t.Elem()).Elem()
			if err := copyValue(v, it.Value(), exact); err != nil {
				return err
			}
			k := reflect.New(t.Key()).Elem()
			k.SetString(validUTF8(it.Key().String()))
			m.SetMapIndex(k, v)
		}
		dst.Set(m)
	case reflect.Interface:
		if src.IsNil() {
			return nil
		}
		v, err := copyAny(src.Elem().Interface(), exact)
		if err != nil {
			return err
		}
		if v != nil {
			dst.Set(reflect.ValueOf(v))
		}
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return fmt.Errorf("unsupported type %s", t)
	case reflect.String:
		dst.SetString(validUTF8(src.String()))
	case reflect.Float32, reflect.Float64:
		if err := checkFloat(src.Float()); err != nil {
			return err
		}
		dst.Set(src)
	default: // booleans, numbers
		dst.Set(src)
	}
	return nil
}

// copyAny copies a value held in an `any`: the JSON values as they are
// (numbers as float64), anything else as JSON decodes it into an `any`.
func copyAny(v any, exact bool) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return validUTF8(v), nil
	case bool:
		return v, nil
	case float64:
		return v, checkFloat(v)
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			c, err := copyAny(x, exact)
			if err != nil {
				return nil, err
			}
			m[validUTF8(k)] = c
		}
		return m, nil
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			c, err := copyAny(x, exact)
			if err != nil {
				return nil, err
			}
			s[i] = c
		}
		return s, nil
	case json.Number:
		if exact && identity.BeyondFloat(v) {
			return v, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("json: cannot unmarshal number %s into Go value of type float64", v)
		}
		return f, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if exact {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, err
		}
		return copyAny(out, exact)
	}
	err = json.Unmarshal(raw, &out)
	return out, err
}

// copyStruct copies the fields JSON encodes; the field named exactField
// (Identity's Traits) keeps integers beyond 2^53 exact.
func copyStruct(dst, src reflect.Value, exactField string) error {
	for _, f := range jsonFields(src.Type()) {
		sv := src.Field(f.index)
		if f.omitEmpty && isEmpty(sv) {
			continue
		}
		if err := copyValue(dst.Field(f.index), sv, f.name == exactField); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// jsonField is a struct field JSON encodes.
type jsonField struct {
	index     int
	name      string
	omitEmpty bool
}

var fieldCache sync.Map // reflect.Type → []jsonField

// jsonFields returns the exported fields of t not tagged "-". Embedded
// structs are not promoted: the records have none.
func jsonFields(t reflect.Type) []jsonField {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]jsonField)
	}
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		_, opts, _ := strings.Cut(tag, ",")
		out = append(out, jsonField{index: i, name: f.Name, omitEmpty: hasOption(opts, "omitempty")})
	}
	fieldCache.Store(t, out)
	return out
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// isEmpty is encoding/json's emptiness for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// checkFloat refuses what JSON cannot hold, as json.Marshal does.
func checkFloat(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("json: unsupported value: %v", f)
	}
	return nil
}

// validUTF8 is s as JSON encodes it: each byte of an invalid UTF-8
// sequence replaced by U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// roundTrip sets dst to src through JSON, for the types the copy does not
// know (those with JSON methods of their own).
func roundTrip(dst, src reflect.Value) error {
	raw, err := json.Marshal(src.Interface())
	if err != nil {
		return err
	}
	p := reflect.New(dst.Type())
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return err
	}
	dst.Set(p.Elem())
	return nil
}
