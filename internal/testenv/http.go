package testenv

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Request is a request to target with body sent as is and header set from
// name, value pairs in order; an empty value removes the header.
func Request(method, target, body string, header ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			r.Header.Del(header[i])
		} else {
			r.Header.Set(header[i], header[i+1])
		}
	}
	return r
}

// Response is what a handler answered, recorded.
type Response struct{ *httptest.ResponseRecorder }

// Record serves r with serve and returns the answer.
func Record(r *http.Request, serve func(http.ResponseWriter, *http.Request)) *Response {
	w := httptest.NewRecorder()
	serve(w, r)
	return &Response{w}
}

// Location is the Location header.
func (r *Response) Location() string { return r.Header().Get("Location") }

// Cookie is the cookie the answer sets whose name starts with prefix, or nil.
func (r *Response) Cookie(prefix string) *http.Cookie {
	for _, c := range r.Result().Cookies() {
		if strings.HasPrefix(c.Name, prefix) {
			return c
		}
	}
	return nil
}

// Expect fails the test unless the status is code.
func (r *Response) Expect(t testing.TB, code int) *Response {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Body)
	}
	return r
}

// Obj is the body, a JSON object.
func (r *Response) Obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// List is the body, a JSON array of objects.
func (r *Response) List(t testing.TB) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &l); err != nil {
		t.Fatalf("body is not a JSON array of objects: %v: %s", err, r.Body)
	}
	return l
}

// ExpectError checks an error envelope: status, error.code, message and
// status text, and that the reason contains each of the fragments. It
// returns the envelope's error.
func (r *Response) ExpectError(t testing.TB, code int, fragments ...string) map[string]any {
	t.Helper()
	r.Expect(t, code)
	e, ok := r.Obj(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error envelope: %s", r.Body)
	}
	if got, _ := e["code"].(float64); int(got) != code {
		t.Fatalf("error.code %v, want %d", e["code"], code)
	}
	if e["message"] == "" || e["status"] != http.StatusText(code) {
		t.Fatalf("bad envelope: %s", r.Body)
	}
	reason, _ := e["reason"].(string)
	for _, f := range fragments {
		if !strings.Contains(reason, f) {
			t.Fatalf("reason %q does not contain %q", reason, f)
		}
	}
	return e
}
