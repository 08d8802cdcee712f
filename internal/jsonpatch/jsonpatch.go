package jsonpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/seed06f30684/caddy-kratos/schema"
)

// JSON Patch (RFC 6902) on generic JSON values: map[string]any, []any,
// string, json.Number or float64, bool and nil, as encoding/json decodes them.
// JSON Pointers are RFC 6901.

// patchOp is one operation of a JSON Patch document.
type Operation struct {
	Op    string
	Path  string
	From  string
	Value any
}

// patchError is a JSON Patch that is malformed or cannot be applied.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

func patchErrorf(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// parsePatch reads a JSON Patch document: a JSON array of operation objects.
// Members other than op, path, from and value are ignored (RFC 6902 §4).
func Parse(raw []byte) ([]Operation, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, patchErrorf("the JSON Patch is not valid JSON: %v", err)
	}
	// Nothing but white space may follow the document: Token is io.EOF.
	if _, err := dec.Token(); err == nil {
		return nil, patchErrorf("the JSON Patch holds more than one JSON value")
	} else if err != io.EOF {
		return nil, patchErrorf("the JSON Patch is not valid JSON: %v", err)
	}
	if err := schema.CheckNumbers(v); err != nil {
		// "The number 1e400 at 0.value is out of range." in this file's style.
		msg := err.Error()
		return nil, patchErrorf("%s", strings.ToLower(msg[:1])+strings.TrimSuffix(msg[1:], "."))
	}
	return FromValue(v)
}

// patchFromValue reads a decoded JSON Patch document.
func FromValue(v any) ([]Operation, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, patchErrorf("a JSON Patch must be a JSON array of operations")
	}
	ops := make([]Operation, 0, len(list))
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, patchErrorf("operation %d is not a JSON object", i)
		}
		str := func(key string) (string, error) {
			v, ok := obj[key]
			if !ok {
				return "", patchErrorf("operation %d has no %q member", i, key)
			}
			s, ok := v.(string)
			if !ok {
				return "", patchErrorf("the %q member of operation %d must be a string", key, i)
			}
			return s, nil
		}
		var op Operation
		var err error
		if op.Op, err = str("op"); err != nil {
			return nil, err
		}
		if op.Path, err = str("path"); err != nil {
			return nil, err
		}
		if _, err := ParsePointer(op.Path); err != nil {
			return nil, patchErrorf("operation %d: %v", i, err)
		}
		switch op.Op {
		case "add", "replace", "test":
			value, ok := obj["value"]
			if !ok {
				return nil, patchErrorf("operation %d (%s) has no \"value\" member", i, op.Op)
			}
			op.Value = value
		case "move", "copy":
			if op.From, err = str("from"); err != nil {
				return nil, err
			}
			if _, err := ParsePointer(op.From); err != nil {
				return nil, patchErrorf("operation %d: %v", i, err)
			}
		case "remove":
		default:
			return nil, patchErrorf("operation %d has the unknown op %q", i, op.Op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// applyPatch applies the operations in order to a deep copy of doc and
// returns the result. It is atomic: on an error, doc is untouched and the
// partial result is dropped.
func Apply(doc any, ops []Operation) (any, error) {
	doc = patchDeepCopy(doc)
	for i, op := range ops {
		var err error
		if doc, err = patchApplyOp(doc, op); err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				return nil, patchErrorf("operation %d (%s %s): %s", i, op.Op, op.Path, pe.Msg)
			}
			return nil, err
		}
	}
	return doc, nil
}

func patchApplyOp(doc any, op Operation) (any, error) {
	path, err := ParsePointer(op.Path)
	if err != nil {
		return nil, err
	}
	switch op.Op {
	case "add":
		return pointerAdd(doc, path, patchDeepCopy(op.Value))
	case "remove":
		if len(path) == 0 {
			return nil, patchErrorf("the whole document cannot be removed")
		}
		return pointerRemove(doc, path)
	case "replace":
		if _, err := pointerGet(doc, path); err != nil {
			return nil, err
		}
		return pointerUpdate(doc, path, func(any) (any, error) { return patchDeepCopy(op.Value), nil })
	case "move":
		from, err := ParsePointer(op.From)
		if err != nil {
			return nil, err
		}
		if op.From == op.Path {
			_, err := pointerGet(doc, from)
			return doc, err
		}
		if pointerIsProperPrefix(from, path) {
			return nil, patchErrorf("a value cannot be moved into one of its own children (from %q)", op.From)
		}
		v, err := pointerGet(doc, from)
		if err != nil {
			return nil, err
		}
		if doc, err = pointerRemove(doc, from); err != nil {
			return nil, err
		}
		return pointerAdd(doc, path, v)
	case "copy":
		from, err := ParsePointer(op.From)
		if err != nil {
			return nil, err
		}
		v, err := pointerGet(doc, from)
		if err != nil {
			return nil, err
		}
		return pointerAdd(doc, path, patchDeepCopy(v))
	case "test":
		v, err := pointerGet(doc, path)
		if err != nil {
			return nil, err
		}
		if !Equal(v, op.Value) {
			return nil, patchErrorf("the value is not the expected one")
		}
		return doc, nil
	}
	return nil, patchErrorf("unknown op %q", op.Op)
}

// parseJSONPointer splits an RFC 6901 JSON Pointer into its unescaped reference
// tokens; "" is the whole document.
func ParsePointer(p string) ([]string, error) {
	if p == "" {
		return []string{}, nil
	}
	if p[0] != '/' {
		return nil, patchErrorf("the JSON Pointer %q does not start with \"/\"", p)
	}
	tokens := strings.Split(p[1:], "/")
	for i, t := range tokens {
		if !strings.Contains(t, "~") {
			continue
		}
		var b strings.Builder
		for j := 0; j < len(t); j++ {
			if t[j] != '~' {
				b.WriteByte(t[j])
				continue
			}
			if j+1 < len(t) && t[j+1] == '0' {
				b.WriteByte('~')
			} else if j+1 < len(t) && t[j+1] == '1' {
				b.WriteByte('/')
			} else {
				return nil, patchErrorf("the JSON Pointer %q has an invalid escape (only ~0 and ~1 are allowed)", p)
			}
			j++
		}
		tokens[i] = b.String()
	}
	return tokens, nil
}

func pointerIsProperPrefix(prefix, path []string) bool {
	if len(prefix) >= len(path) {
		return false
	}
	for i := range prefix {
		if prefix[i] != path[i] {
			return false
		}
	}
	return true
}

// pointerArrayIndex parses an array index token for an array of length n: digits
// without leading zeros, below n (or equal to n when end is allowed, for add).
// "-" is n when end is allowed.
func pointerArrayIndex(tok string, n int, end bool) (int, error) {
	if tok == "-" {
		if end {
			return n, nil
		}
		return 0, patchErrorf("the array index \"-\" refers to no existing element")
	}
	if tok == "" || (len(tok) > 1 && tok[0] == '0') || strings.TrimLeft(tok, "0123456789") != "" {
		return 0, patchErrorf("%q is not a valid array index", tok)
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i > n || (i == n && !end) {
		return 0, patchErrorf("the array index %s is out of bounds (length %d)", tok, n)
	}
	return i, nil
}

// pointerGet returns the value a pointer refers to.
func pointerGet(doc any, path []string) (any, error) {
	cur := doc
	for _, tok := range path {
		switch n := cur.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, patchErrorf("the member %q does not exist", tok)
			}
			cur = v
		case []any:
			i, err := pointerArrayIndex(tok, len(n), false)
			if err != nil {
				return nil, err
			}
			cur = n[i]
		default:
			return nil, patchErrorf("%q cannot be looked up in a value that is neither an object nor an array", tok)
		}
	}
	return cur, nil
}

// pointerUpdate replaces the existing value at path with f(old) and returns the
// new document. Arrays may be reallocated, so containers are written back on
// the way up.
func pointerUpdate(node any, path []string, f func(any) (any, error)) (any, error) {
	if len(path) == 0 {
		return f(node)
	}
	tok := path[0]
	switch n := node.(type) {
	case map[string]any:
		child, ok := n[tok]
		if !ok {
			return nil, patchErrorf("the member %q does not exist", tok)
		}
		v, err := pointerUpdate(child, path[1:], f)
		if err != nil {
			return nil, err
		}
		n[tok] = v
		return n, nil
	case []any:
		i, err := pointerArrayIndex(tok, len(n), false)
		if err != nil {
			return nil, err
		}
		v, err := pointerUpdate(n[i], path[1:], f)
		if err != nil {
			return nil, err
		}
		n[i] = v
		return n, nil
	}
	return nil, patchErrorf("%q cannot be looked up in a value that is neither an object nor an array", tok)
}

// pointerAdd adds value at path (RFC 6902 §4.1): it sets an object member
// (replacing one that exists), inserts into an array (or appends at "-"), or
// replaces the whole document for "".
func pointerAdd(doc any, path []string, value any) (any, error) {
	if len(path) == 0 {
		return value, nil
	}
	last := path[len(path)-1]
	return pointerUpdate(doc, path[:len(path)-1], func(parent any) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			p[last] = value
			return p, nil
		case []any:
			i, err := pointerArrayIndex(last, len(p), true)
			if err != nil {
				return nil, err
			}
			p = append(p, nil)
			copy(p[i+1:], p[i:])
			p[i] = value
			return p, nil
		}
		return nil, patchErrorf("a value cannot be added inside a value that is neither an object nor an array")
	})
}

// pointerRemove removes the existing value at a non-empty path.
func pointerRemove(doc any, path []string) (any, error) {
	last := path[len(path)-1]
	return pointerUpdate(doc, path[:len(path)-1], func(parent any) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			if _, ok := p[last]; !ok {
				return nil, patchErrorf("the member %q does not exist", last)
			}
			delete(p, last)
			return p, nil
		case []any:
			i, err := pointerArrayIndex(last, len(p), false)
			if err != nil {
				return nil, err
			}
			return append(p[:i:i], p[i+1:]...), nil
		}
		return nil, patchErrorf("%q cannot be removed from a value that is neither an object nor an array", last)
	})
}

// patchDeepCopy copies a generic JSON value so that changing the copy never
// changes the original.
func patchDeepCopy(v any) any {
	switch n := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, e := range n {
			out[k] = patchDeepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			out[i] = patchDeepCopy(e)
		}
		return out
	}
	return v
}

// patchValuesEqual compares two generic JSON values as RFC 6902 §4.6 does: numbers
// by their value, objects regardless of member order, arrays element-wise.
func Equal(a, b any) bool {
	if na, ok := patchNumber(a); ok {
		nb, ok := patchNumber(b)
		return ok && na.Cmp(nb) == 0
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !Equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// patchNumber returns a JSON number as an exact rational.
func patchNumber(v any) (*big.Rat, bool) {
	switch n := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(n))
		return r, ok
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(n) == nil {
			return nil, false
		}
		return r, true
	case int:
		return new(big.Rat).SetInt64(int64(n)), true
	case int64:
		return new(big.Rat).SetInt64(n), true
	}
	return nil, false
}
