package identity

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestBeyondFloat(t *testing.T) {
	for _, tt := range []struct {
		n    string
		want bool
	}{
		{"0", false},
		{"36", false},
		{"-36", false},
		{"9007199254740992", false}, // 2^53: a float64
		{"-9007199254740992", false},
		{"9007199254740993", true},
		{"-9007199254740993", true},
		{"9223372036854775807", true},
		{"123456789012345678901234567890", true}, // beyond int64 too
		{"-123456789012345678901234567890", true},
		{"9007199254740993.0", false}, // not an integer literal: as before
		{"9.007199254740993e15", false},
		{"1e400", false},
		{"2.5", false},
		{"-", false},
		{"", false},
	} {
		if got := BeyondFloat(json.Number(tt.n)); got != tt.want {
			t.Errorf("BeyondFloat(%s) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestIdentityUnmarshalTraits(t *testing.T) {
	var id Identity
	raw := `{"id":"x","state":"active","traits":{"a":36,"b":2.5,"c":9007199254740993,"d":[1,{"e":-9007199254740993}],"f":"9007199254740993"},"version":3}`
	if err := json.Unmarshal([]byte(raw), &id); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": 36.0, "b": 2.5, "c": json.Number("9007199254740993"),
		"d": []any{1.0, map[string]any{"e": json.Number("-9007199254740993")}}, "f": "9007199254740993"}
	if !reflect.DeepEqual(id.Traits, want) || id.ID != "x" || id.State != "active" || id.Version != 3 {
		t.Errorf("got %+v", id)
	}
	for _, raw := range []string{`{"id":"y"}`, `{"id":"y","traits":null}`} {
		var id Identity
		if err := json.Unmarshal([]byte(raw), &id); err != nil || id.Traits != nil || id.ID != "y" {
			t.Errorf("%s: %+v, %v", raw, id, err)
		}
	}
	for _, raw := range []string{`{"traits":{"a":1e400}}`, `{"traits":[1]}`, `{"traits":{"a":}}`} {
		var id Identity
		if err := json.Unmarshal([]byte(raw), &id); err == nil {
			t.Errorf("%s: no error", raw)
		}
	}
}
