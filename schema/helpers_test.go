package schema

import (
	"bytes"
	"encoding/json"
	"testing"
)

// testSchema compiles testdata/<name>.schema.json.
func testSchema(t testing.TB, name string) *Schema {
	t.Helper()
	s, err := CompileFile("default", "testdata/"+name+".schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

// inlineSchema compiles an inline schema document.
func inlineSchema(t testing.TB, doc string) *Schema {
	t.Helper()
	s, err := Compile("default", "inline", []byte(doc))
	if err != nil {
		t.Fatalf("compile inline schema: %v", err)
	}
	return s
}

// decode decodes JSON as request bodies are decoded (numbers as json.Number).
func decode(t testing.TB, doc string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
	return v
}
