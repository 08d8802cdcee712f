package body

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
)

func TestReadTooLarge(t *testing.T) {
	raw := `{"a":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	_, err := Read(httptest.NewRecorder(), r)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("error %v, want a 413", err)
	}
}

// A JSON body is one JSON object and nothing after it but white space.
func TestReadJSONTrailingData(t *testing.T) {
	for raw, ok := range map[string]bool{
		`{"a":1}`:           true,
		"{\"a\":1}\n\t\r ":  true,
		`{"a":1} {"b":2}`:   false,
		`{"a":1} x`:         false,
		`{"a":1}]`:          false,
		`{"a":1}}`:          false,
		`{"a":1},`:          false,
		`{"a":1}` + "\x00":  false,
		`{"a":1} ` + "\xff": false,
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(raw))
		r.Header.Set("Content-Type", "application/json")
		b, err := Read(httptest.NewRecorder(), r)
		if ok && (err != nil || b == nil) {
			t.Errorf("Read(%q): %v", raw, err)
		}
		if !ok {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != http.StatusBadRequest {
				t.Errorf("Read(%q) = %v, %v; want a 400", raw, b, err)
			}
		}
	}
}
