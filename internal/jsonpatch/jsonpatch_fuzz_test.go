package jsonpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/schema"
)

// decodeFuzzJSON decodes one JSON value as the handlers do (numbers as
// json.Number, nothing after it, every number finite); ok is false for
// anything else.
func decodeFuzzJSON(raw []byte) (v any, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, schema.CheckNumbers(v) == nil
}

// exactNumbers reports whether every number in v can be compared exactly:
// Equal compares numbers as big.Rat, whose SetString refuses exponents
// beyond ±1e6 (1e-1000001 passes schema.CheckNumbers as 0, but is then equal
// to nothing, not even itself).
func exactNumbers(v any) bool {
	switch n := v.(type) {
	case map[string]any:
		for _, e := range n {
			if !exactNumbers(e) {
				return false
			}
		}
	case []any:
		for _, e := range n {
			if !exactNumbers(e) {
				return false
			}
		}
	case json.Number:
		_, ok := new(big.Rat).SetString(string(n))
		return ok
	}
	return true
}

// FuzzApply parses a fuzzed patch and applies it to a fuzzed document.
// Nothing panics; every error is an *Error; the document given is never
// changed; applying the operations one at a time gives the same result or
// error as applying them together; after each operation its effect is
// there (add, replace, copy and move put the value at path, test changes
// nothing, remove takes the member away); and the result is JSON.
func FuzzApply(f *testing.F) {
	for _, tc := range conformanceCases {
		f.Add([]byte(tc.doc), []byte(tc.patch))
	}
	for _, s := range [][2]string{
		{`{"a":{"b":[1,2,{"c":null}]}}`, `[{"op":"move","from":"/a/b/2","path":"/a/b/0"},{"op":"copy","from":"/a","path":"/a/b/-"}]`},
		{`{"a":1}`, `[{"op":"move","from":"/a","path":"/a/b"}]`},
		{`{"a":[]}`, `[{"op":"add","path":"/a/-","value":1},{"op":"add","path":"/a/0","value":0},{"op":"remove","path":"/a/1"}]`},
		{`{"a/b":{"~":1}}`, `[{"op":"test","path":"/a~1b/~0","value":1.0},{"op":"copy","from":"/a~1b","path":""}]`},
		{`{"n":1e-400}`, `[{"op":"test","path":"/n","value":0}]`},
		{`{"n":1}`, `[{"op":"replace","path":"/n","value":1e400}]`},
		{`[[[[]]]]`, `[{"op":"add","path":"/0/0/0/-","value":[[]]},{"op":"move","from":"/0/0","path":"/1"}]`},
		{`{"":{"":1}}`, `[{"op":"remove","path":"//"},{"op":"add","path":"/","value":2}]`},
		{`{}`, `[] x`}, {`{}`, `[]]`}, {`{}`, `[{"op":"add","path":"/a","value":1,"from":1}]`},
		{`{"a":1}`, `[{"op":"move","from":"","path":"/b"}]`}, {`{"a":1}`, `[{"op":"copy","from":"","path":"/b"}]`},
		{`[1,2,3]`, `[{"op":"remove","path":"/9999999999999999999999"}]`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}

	f.Fuzz(checkPatch)
}

// FuzzApplyOne is FuzzApply with one operation built from its fuzzed
// members, so that the fuzzer spends its time on pointers and values
// rather than on the JSON syntax of the patch.
func FuzzApplyOne(f *testing.F) {
	for _, s := range [][5]string{
		{`{"foo":"bar"}`, "add", "/baz", "", `"qux"`},
		{`{"foo":["bar","baz"]}`, "add", "/foo/1", "", `"qux"`},
		{`{"foo":["bar","baz"]}`, "add", "/foo/-", "", `["abc","def"]`},
		{`{"foo":["bar","baz"]}`, "remove", "/foo/0", "", ``},
		{`{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`, "move", "/qux/thud", "/foo/waldo", ``},
		{`{"foo":["all","grass","cows","eat"]}`, "move", "/foo/3", "/foo/1", ``},
		{`{"foo":{"bar":1}}`, "copy", "/foo/bar/x", "/foo", ``},
		{`{"foo":{"bar":1}}`, "move", "/foo/bar/x", "/foo", ``},
		{`{"/":9,"~1":10}`, "test", "/~01", "", `10`},
		{`{"a/b":{"m~n":[null]}}`, "replace", "/a~1b/m~0n/0", "", `{"x":1.5e3}`},
		{`{"a":1}`, "replace", "", "", `[1,2]`},
		{`[1,2,3]`, "remove", "/-", "", ``},
		{`[1,2,3]`, "add", "/03", "", `0`},
		{`{"-":1}`, "replace", "/-", "", `2`},
	} {
		f.Add([]byte(s[0]), s[1], s[2], s[3], []byte(s[4]))
	}
	f.Fuzz(func(t *testing.T, docRaw []byte, op, path, from string, value []byte) {
		o := map[string]any{"op": op, "path": path}
		if from != "" {
			o["from"] = from
		}
		if json.Valid(value) {
			o["value"] = json.RawMessage(value)
		}
		patchRaw, err := json.Marshal([]any{o})
		if err != nil {
			t.Fatalf("marshal the patch: %v", err)
		}
		checkPatch(t, docRaw, patchRaw)
	})
}

// checkPatch parses patchRaw and applies it to docRaw: see FuzzApply.
func checkPatch(t *testing.T, docRaw, patchRaw []byte) {
	doc, ok := decodeFuzzJSON(docRaw)
	if !ok {
		return
	}
	if exactNumbers(doc) && !Equal(doc, patchDeepCopy(doc)) {
		t.Fatalf("Equal(%s, a copy) = false", docRaw)
	}
	orig := patchDeepCopy(doc)
	ops, err := Parse(patchRaw)
	if err != nil {
		wantPatchError(t, "Parse", err)
		return
	}
	if !json.Valid(patchRaw) {
		t.Fatalf("Parse accepted %q, which is not JSON", patchRaw)
	}

	got, err := Apply(doc, ops)
	if !bytes.Equal(marshal(t, doc), marshal(t, orig)) {
		t.Fatalf("Apply changed the document it was given: %s", marshal(t, doc))
	}
	cur, failed := doc, -1
	for i, op := range ops {
		next, err := Apply(cur, ops[i:i+1])
		if err != nil {
			wantPatchError(t, "Apply", err)
			failed = i
			break
		}
		checkEffect(t, cur, next, op)
		cur = next
	}
	if err != nil {
		wantPatchError(t, "Apply", err)
		if failed < 0 {
			t.Fatalf("Apply: %v, but each operation alone applies", err)
		}
		if prefix := "operation " + strconv.Itoa(failed) + " "; !strings.HasPrefix(err.Error(), prefix) {
			t.Fatalf("Apply: %v, but operation %d is the one that fails", err, failed)
		}
		return
	}
	if failed >= 0 {
		t.Fatalf("Apply succeeded, but operation %d alone fails", failed)
	}
	if exactNumbers(got) && !Equal(got, cur) {
		t.Fatalf("Apply gave %s, one at a time %s", marshal(t, got), marshal(t, cur))
	}
	back, ok := decodeFuzzJSON(marshal(t, got))
	if !ok || exactNumbers(got) && !Equal(back, got) {
		t.Fatalf("the result %s does not survive a JSON round trip", marshal(t, got))
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return b
}

func wantPatchError(t *testing.T, what string, err error) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("%s: error %#v is not a *jsonpatch.Error", what, err)
	}
}

// checkEffect checks what one operation, applied to before, left in after.
func checkEffect(t *testing.T, before, after any, op Operation) {
	t.Helper()
	path, err := ParsePointer(op.Path)
	if err != nil {
		t.Fatalf("%s %q applied, but its path does not parse: %v", op.Op, op.Path, err)
	}
	var want any
	switch op.Op {
	case "add", "replace":
		want = op.Value
	case "copy", "move":
		from, _ := ParsePointer(op.From)
		if want, err = pointerGet(before, from); err != nil {
			t.Fatalf("%s from %q applied, but there is nothing there: %v", op.Op, op.From, err)
		}
		if op.Op == "move" && len(path) > len(from) && slices.Equal(path[:len(from)], from) {
			t.Fatalf("move from %q into its own child %q applied", op.From, op.Path)
		}
	case "test":
		if exactNumbers(before) && !Equal(after, before) {
			t.Fatalf("test %q changed the document", op.Path)
		}
		return
	case "remove":
		if len(path) == 0 {
			t.Fatalf("remove of the whole document applied")
		}
		if parent, err := pointerGet(before, path[:len(path)-1]); err == nil {
			if _, isObject := parent.(map[string]any); isObject {
				if _, err := pointerGet(after, path); err == nil {
					t.Fatalf("remove %q applied, but the member is still there", op.Path)
				}
			}
		}
		return
	default:
		t.Fatalf("the unknown op %q applied", op.Op)
	}
	if n := len(path); n > 0 && path[n-1] == "-" {
		// "-" in an array is its end: the value is now its last element.
		if parent, err := pointerGet(after, path[:n-1]); err == nil {
			if arr, ok := parent.([]any); ok && len(arr) > 0 {
				path = append(slices.Clip(path[:n-1]), strconv.Itoa(len(arr)-1))
			}
		}
	}
	got, err := pointerGet(after, path)
	if err != nil {
		t.Fatalf("%s %q applied, but there is nothing there: %v", op.Op, op.Path, err)
	}
	if exactNumbers(want) && !Equal(got, want) {
		t.Fatalf("%s %q applied, but the value there is %s, not %s", op.Op, op.Path, marshal(t, got), marshal(t, want))
	}
}

// FuzzParsePointer checks that ParsePointer and the escaping of tokens
// are inverses: a pointer that parses is its escaped tokens joined again,
// and any token escaped parses back to itself.
func FuzzParsePointer(f *testing.F) {
	for _, s := range []string{"", "/", "//", "/a", "/a/b", "/a~1b", "/m~0n", "/~01", "/~10", "/~", "/~2", "/a~", "a", "~1",
		"/-", "/0", "/01", "/ /\x00/\xff", "/~0~1~1~0", "/c%d", "/e^f", "/g|h", "/i\\j", "/k\"l", "/\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tokens, err := ParsePointer(s)
		if err == nil {
			var b strings.Builder
			for _, tok := range tokens {
				b.WriteString("/" + escapeToken(tok))
			}
			if b.String() != s {
				t.Fatalf("ParsePointer(%q) = %q, which escapes back to %q", s, tokens, b.String())
			}
		} else {
			wantPatchError(t, "ParsePointer", err)
			if strings.HasPrefix(s, "/") && !strings.Contains(s, "~") {
				t.Fatalf("ParsePointer(%q): %v", s, err)
			}
		}
		// s as one token.
		p := "/" + escapeToken(s)
		if got, err := ParsePointer(p); err != nil || len(got) != 1 || got[0] != s {
			t.Fatalf("token %q → %q → %q, %v", s, p, got, err)
		}
	})
}
