package jsonpatch

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func decodeTestJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %q: %v", s, err)
	}
	return v
}

func TestPatchApply(t *testing.T) {
	for _, tc := range []struct {
		name, doc, patch string
		want             string // "" when an error is expected
		errFrag          string
	}{
		// RFC 6902 Appendix A.
		{name: "A.1 add an object member",
			doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux"}]`,
			want: `{"baz":"qux","foo":"bar"}`},
		{name: "A.2 add an array element",
			doc: `{"foo":["bar","baz"]}`, patch: `[{"op":"add","path":"/foo/1","value":"qux"}]`,
			want: `{"foo":["bar","qux","baz"]}`},
		{name: "A.3 remove an object member",
			doc: `{"baz":"qux","foo":"bar"}`, patch: `[{"op":"remove","path":"/baz"}]`,
			want: `{"foo":"bar"}`},
		{name: "A.4 remove an array element",
			doc: `{"foo":["bar","qux","baz"]}`, patch: `[{"op":"remove","path":"/foo/1"}]`,
			want: `{"foo":["bar","baz"]}`},
		{name: "A.5 replace a value",
			doc: `{"baz":"qux","foo":"bar"}`, patch: `[{"op":"replace","path":"/baz","value":"boo"}]`,
			want: `{"baz":"boo","foo":"bar"}`},
		{name: "A.6 move a value",
			doc:   `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`,
			patch: `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
			want:  `{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`},
		{name: "A.7 move an array element",
			doc: `{"foo":["all","grass","cows","eat"]}`, patch: `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`,
			want: `{"foo":["all","cows","eat","grass"]}`},
		{name: "A.8 test a value: success",
			doc:   `{"baz":"qux","foo":["a",2,"c"]}`,
			patch: `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`,
			want:  `{"baz":"qux","foo":["a",2,"c"]}`},
		{name: "A.9 test a value: error",
			doc: `{"baz":"qux"}`, patch: `[{"op":"test","path":"/baz","value":"bar"}]`,
			errFrag: "not the expected"},
		{name: "A.10 add a nested member object",
			doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`,
			want: `{"foo":"bar","child":{"grandchild":{}}}`},
		{name: "A.11 ignore unrecognized elements",
			doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`,
			want: `{"foo":"bar","baz":"qux"}`},
		{name: "A.12 add to a nonexistent target",
			doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz/bat","value":"qux"}]`,
			errFrag: `"baz" does not exist`},
		{name: "A.14 ~ escape ordering",
			doc: `{"/":9,"~1":10}`, patch: `[{"op":"test","path":"/~01","value":10}]`,
			want: `{"/":9,"~1":10}`},
		{name: "A.15 comparing strings and numbers",
			doc: `{"/":9,"~1":10}`, patch: `[{"op":"test","path":"/~01","value":"10"}]`,
			errFrag: "not the expected"},
		{name: "A.16 add an array value",
			doc: `{"foo":["bar"]}`, patch: `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`,
			want: `{"foo":["bar",["abc","def"]]}`},

		// Pointers.
		{name: "escaped slash", doc: `{"a/b":1}`, patch: `[{"op":"replace","path":"/a~1b","value":2}]`, want: `{"a/b":2}`},
		{name: "escaped tilde", doc: `{"m~n":1}`, patch: `[{"op":"remove","path":"/m~0n"}]`, want: `{}`},
		{name: "empty member name", doc: `{"":1}`, patch: `[{"op":"replace","path":"/","value":2}]`, want: `{"":2}`},
		{name: "invalid escape", doc: `{}`, patch: `[{"op":"add","path":"/a~2","value":1}]`, errFrag: "invalid escape"},
		{name: "dangling tilde", doc: `{}`, patch: `[{"op":"add","path":"/a~","value":1}]`, errFrag: "invalid escape"},
		{name: "no leading slash", doc: `{}`, patch: `[{"op":"add","path":"a","value":1}]`, errFrag: "does not start"},

		// Arrays.
		{name: "append with -", doc: `[1,2]`, patch: `[{"op":"add","path":"/-","value":3}]`, want: `[1,2,3]`},
		{name: "insert at the end index", doc: `[1,2]`, patch: `[{"op":"add","path":"/2","value":3}]`, want: `[1,2,3]`},
		{name: "insert at 0", doc: `[1,2]`, patch: `[{"op":"add","path":"/0","value":0}]`, want: `[0,1,2]`},
		{name: "add out of bounds", doc: `[1,2]`, patch: `[{"op":"add","path":"/3","value":3}]`, errFrag: "out of bounds"},
		{name: "leading zero", doc: `[1,2]`, patch: `[{"op":"replace","path":"/01","value":3}]`, errFrag: "not a valid array index"},
		{name: "negative index", doc: `[1,2]`, patch: `[{"op":"remove","path":"/-1"}]`, errFrag: "not a valid array index"},
		{name: "remove -", doc: `[1,2]`, patch: `[{"op":"remove","path":"/-"}]`, errFrag: "no existing element"},
		{name: "replace past the end", doc: `[1,2]`, patch: `[{"op":"replace","path":"/2","value":3}]`, errFrag: "out of bounds"},
		{name: "remove last", doc: `{"a":[1,2,3]}`, patch: `[{"op":"remove","path":"/a/2"}]`, want: `{"a":[1,2]}`},
		{name: "inside an array element", doc: `{"l":[{"a":1}]}`, patch: `[{"op":"add","path":"/l/0/b","value":2},{"op":"replace","path":"/l/0/a","value":3}]`, want: `{"l":[{"a":3,"b":2}]}`},
		{name: "under a missing array element", doc: `{"l":[{"a":1}]}`, patch: `[{"op":"add","path":"/l/5/b","value":2}]`, errFrag: "out of bounds"},
		{name: "under a nested scalar", doc: `{"a":1}`, patch: `[{"op":"add","path":"/a/b/c","value":1}]`, errFrag: "neither an object nor an array"},
		{name: "nested array in array", doc: `[[1],[2]]`, patch: `[{"op":"remove","path":"/1/0"},{"op":"add","path":"/0/-","value":3}]`, want: `[[1,3],[]]`},
		{name: "member of a scalar", doc: `{"a":1}`, patch: `[{"op":"add","path":"/a/b","value":1}]`, errFrag: "neither an object nor an array"},

		// Whole document.
		{name: "replace the root", doc: `{"a":1}`, patch: `[{"op":"replace","path":"","value":[1]}]`, want: `[1]`},
		{name: "add the root", doc: `{"a":1}`, patch: `[{"op":"add","path":"","value":{"b":2}}]`, want: `{"b":2}`},
		{name: "remove the root", doc: `{"a":1}`, patch: `[{"op":"remove","path":""}]`, errFrag: "whole document"},
		{name: "test the root", doc: `{"a":[1,{"b":null}]}`, patch: `[{"op":"test","path":"","value":{"a":[1.0,{"b":null}]}}]`, want: `{"a":[1,{"b":null}]}`},

		// add/replace/remove details.
		{name: "add replaces an existing member", doc: `{"a":1}`, patch: `[{"op":"add","path":"/a","value":null}]`, want: `{"a":null}`},
		{name: "replace a missing member", doc: `{"a":1}`, patch: `[{"op":"replace","path":"/b","value":2}]`, errFrag: `"b" does not exist`},
		{name: "remove a missing member", doc: `{"a":1}`, patch: `[{"op":"remove","path":"/b"}]`, errFrag: `"b" does not exist`},

		// move and copy.
		{name: "move to itself", doc: `{"a":1}`, patch: `[{"op":"move","from":"/a","path":"/a"}]`, want: `{"a":1}`},
		{name: "move into its own child", doc: `{"a":{"b":1}}`, patch: `[{"op":"move","from":"/a","path":"/a/b/c"}]`, errFrag: "own children"},
		{name: "move from a missing member", doc: `{"a":1}`, patch: `[{"op":"move","from":"/x","path":"/y"}]`, errFrag: `"x" does not exist`},
		{name: "move to a sibling prefix name", doc: `{"a":{"b":1}}`, patch: `[{"op":"move","from":"/a","path":"/ab"}]`, want: `{"ab":{"b":1}}`},
		{name: "copy then change the copy",
			doc:   `{"a":{"b":[1]}}`,
			patch: `[{"op":"copy","from":"/a","path":"/c"},{"op":"add","path":"/c/b/-","value":2}]`,
			want:  `{"a":{"b":[1]},"c":{"b":[1,2]}}`},
		{name: "copy into an array", doc: `{"a":5,"l":[1]}`, patch: `[{"op":"copy","from":"/a","path":"/l/0"}]`, want: `{"a":5,"l":[5,1]}`},

		// test equality rules.
		{name: "numbers by value", doc: `{"n":1}`, patch: `[{"op":"test","path":"/n","value":1.0},{"op":"test","path":"/n","value":1e0}]`, want: `{"n":1}`},
		{name: "objects ignore member order", doc: `{"o":{"x":1,"y":2}}`, patch: `[{"op":"test","path":"/o","value":{"y":2,"x":1}}]`, want: `{"o":{"x":1,"y":2}}`},
		{name: "arrays are ordered", doc: `{"l":[1,2]}`, patch: `[{"op":"test","path":"/l","value":[2,1]}]`, errFrag: "not the expected"},
		{name: "array lengths", doc: `{"l":[1,2]}`, patch: `[{"op":"test","path":"/l","value":[1]}]`, errFrag: "not the expected"},
		{name: "object with extra member", doc: `{"o":{"x":1}}`, patch: `[{"op":"test","path":"/o","value":{"x":1,"y":null}}]`, errFrag: "not the expected"},
		{name: "null is not false", doc: `{"n":null}`, patch: `[{"op":"test","path":"/n","value":false}]`, errFrag: "not the expected"},
		{name: "null equals null", doc: `{"n":null}`, patch: `[{"op":"test","path":"/n","value":null}]`, want: `{"n":null}`},
		{name: "test a missing member", doc: `{}`, patch: `[{"op":"test","path":"/n","value":null}]`, errFrag: "does not exist"},

		// Malformed patches.
		{name: "not an array", doc: `{}`, patch: `{"op":"add","path":"/a","value":1}`, errFrag: "JSON array"},
		{name: "operation not an object", doc: `{}`, patch: `["add"]`, errFrag: "not a JSON object"},
		{name: "op missing", doc: `{}`, patch: `[{"path":"/a","value":1}]`, errFrag: `no "op"`},
		{name: "path missing", doc: `{}`, patch: `[{"op":"add","value":1}]`, errFrag: `no "path"`},
		{name: "path not a string", doc: `{}`, patch: `[{"op":"add","path":1,"value":1}]`, errFrag: "must be a string"},
		{name: "from missing", doc: `{"a":1}`, patch: `[{"op":"copy","path":"/b"}]`, errFrag: `no "from"`},
		{name: "value missing", doc: `{}`, patch: `[{"op":"replace","path":"/a"}]`, errFrag: `no "value"`},
		{name: "unknown op", doc: `{}`, patch: `[{"op":"upsert","path":"/a","value":1}]`, errFrag: `unknown op "upsert"`},
		{name: "empty patch", doc: `{"a":1}`, patch: `[]`, want: `{"a":1}`},
		{name: "trailing value", doc: `{}`, patch: `[] []`, errFrag: "more than one"},
		{name: "trailing white space", doc: `{}`, patch: "[] \n\t\r ", want: `{}`},
		{name: "trailing bracket", doc: `{}`, patch: `[]]`, errFrag: "not valid JSON"},
		{name: "trailing brace", doc: `{}`, patch: `[]}`, errFrag: "not valid JSON"},
		{name: "trailing garbage", doc: `{}`, patch: `[] x`, errFrag: "not valid JSON"},
		{name: "invalid JSON", doc: `{}`, patch: `[{`, errFrag: "not valid JSON"},

		// Atomicity: a later failure drops earlier changes (checked below).
		{name: "atomic", doc: `{"a":1}`, patch: `[{"op":"replace","path":"/a","value":2},{"op":"remove","path":"/zz"}]`, errFrag: "operation 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := decodeTestJSON(t, tc.doc)
			orig := patchDeepCopy(doc)
			ops, err := Parse([]byte(tc.patch))
			var got any
			if err == nil {
				got, err = Apply(doc, ops)
			}
			if !Equal(doc, orig) {
				t.Fatalf("the input document was changed: %v", doc)
			}
			if tc.want == "" {
				if err == nil {
					t.Fatalf("no error; result %v", got)
				}
				if !strings.Contains(err.Error(), tc.errFrag) {
					t.Fatalf("error %q does not contain %q", err, tc.errFrag)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if want := decodeTestJSON(t, tc.want); !Equal(got, want) {
				g, _ := json.Marshal(got)
				t.Fatalf("got %s, want %s", g, tc.want)
			}
		})
	}
}

func TestPatchValuesEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b any
		eq   bool
	}{
		{json.Number("1"), 1.0, true},
		{json.Number("1.50"), json.Number("15e-1"), true},
		{json.Number("100000000000000000001"), json.Number("100000000000000000000"), false},
		{1, json.Number("1"), true},
		{"1", json.Number("1"), false},
		{nil, nil, true},
		{nil, map[string]any{}, false},
		{[]any{}, map[string]any{}, false},
		{true, true, true},
		{true, "true", false},
	} {
		if got := Equal(tc.a, tc.b); got != tc.eq {
			t.Errorf("patchValuesEqual(%#v, %#v) = %v", tc.a, tc.b, got)
		}
	}
}

// escapeToken escapes one reference token for a JSON Pointer (RFC 6901
// §4: "~" first, then "/").
func escapeToken(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

func TestPatchPointerRoundTrip(t *testing.T) {
	for _, tok := range []string{"a", "a/b", "m~n", "~1", "/~", ""} {
		p := "/" + escapeToken(tok)
		got, err := ParsePointer(p)
		if err != nil || len(got) != 1 || got[0] != tok {
			t.Errorf("%q → %q → %q, %v", tok, p, got, err)
		}
	}
}
