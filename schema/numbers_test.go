package schema

import (
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"
)

func TestFiniteNumber(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"0", true},
		{"-2.5e1", true},
		{"1.7976931348623157e308", true},         // the largest float64
		{"123456789012345678901234567890", true}, // big, but fits
		{"1e-400", true},                         // underflows to 0: reads back fine
		{"1e400", false},                         // overflows
		{"-1e400", false},
		{"1.8e308", false},
		{"1" + strings.Repeat("0", 400), false},
		{"NaN", false},
		{"Inf", false},
	} {
		if _, got := FiniteNumber(tt.in); got != tt.want {
			t.Errorf("FiniteNumber(%.40s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestCheckNumbers(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       string // the error, "" for none
	}{
		{"fine", `{"a":1,"b":[1.5,-2e300,{"c":1e-400}],"s":"1e400"}`, ""},
		{"top level", `{"n":1e400}`, "The number 1e400 at n is out of range."},
		{"in an array", `{"traits":{"email":"o@example.com","zzz":[1e400]}}`, "The number 1e400 at traits.zzz.0 is out of range."},
		{"deep", `{"a":{"b":[[{"c.d":[0,-1E+999]}]]}}`, "The number -1E+999 at a.b.0.0.c.d.1 is out of range."},
		{"first in key order", `{"z":1e400,"a":2e400}`, "The number 2e400 at a is out of range."},
		{"the whole value", `1e400`, "The number 1e400 is out of range."},
		{"an array document", `[{"op":"add","path":"/traits/x","value":1e400}]`, "The number 1e400 at 0.value is out of range."},
		{"a long number is cut", `{"n":1` + strings.Repeat("0", 500) + `}`,
			"The number 1" + strings.Repeat("0", 31) + "... (501 characters) at n is out of range."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNumbers(decode(t, tt.body))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			var ne *NumberError
			if !errors.As(err, &ne) {
				t.Fatalf("error %v, want a *NumberError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error %q\nwant      %q", err, tt.want)
			}
		})
	}

	// Values decoded without UseNumber, or built in Go.
	if err := CheckNumbers(map[string]any{"x": []any{math.Inf(-1)}}, "traits"); err == nil ||
		err.Error() != "The number -Inf at traits.x.0 is out of range." {
		t.Errorf("float64 -Inf: %v", err)
	}
	if err := CheckNumbers(map[string]any{"x": math.NaN()}); err == nil {
		t.Error("float64 NaN: no error")
	}
	if err := CheckNumbers(map[string]any{"x": 1e308, "y": json.Number("5")}); err != nil {
		t.Errorf("finite numbers: %v", err)
	}
}

// A form value typed as a number must be a finite float64 too; a value that
// is not a number at all stays a string for validation to refuse.
func TestTraitsFromFormNumberOutOfRange(t *testing.T) {
	s := testSchema(t, "v2020")
	for _, tt := range []struct {
		name string
		form url.Values
		want string // the error's field, "" for no error
	}{
		{"integer", url.Values{"traits.email": {"a@example.org"}, "traits.age": {"1e400"}}, "traits.age"},
		{"number with spaces", url.Values{"traits.score": {" -1e400 "}}, "traits.score"},
		{"repeated array values", url.Values{"traits.lucky": {"7", "1e999"}}, "traits.lucky"},
		{"array item by position", url.Values{"traits.lucky.3": {"1e999"}}, "traits.lucky.3"},
		{"a repeated scalar's earlier value is dropped anyway", url.Values{"traits.age": {"1e400", "5"}}, ""},
		{"not a number", url.Values{"traits.age": {"1e400x"}}, ""},
		{"unknown keys stay text", url.Values{"traits.unknown": {"1e400"}}, ""},
		{"underflow is fine", url.Values{"traits.score": {"1e-400"}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			traits, err := s.TraitsFromForm(tt.form)
			if tt.want == "" {
				if err != nil || traits == nil {
					t.Fatalf("traits %v, error %v; want traits", traits, err)
				}
				if err := CheckNumbers(traits); err != nil {
					t.Errorf("traits hold a bad number: %v", err)
				}
				return
			}
			var ne *NumberError
			if !errors.As(err, &ne) || ne.Field != tt.want || traits != nil {
				t.Fatalf("traits %v, error %#v; want a *NumberError at %s", traits, err, tt.want)
			}
			if !strings.Contains(err.Error(), "at "+tt.want+" is out of range.") {
				t.Errorf("message %q", err)
			}
		})
	}
}
