package flows_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Integers beyond 2^53 come back exactly as sent, from a JSON body and
// from a form, after the store's round trip; ordinary numbers as before.
func TestTraitIntegersBeyondFloat(t *testing.T) {
	e := newLookalikeEnv(t)
	e.mustRegister(map[string]any{"email": "big@example.com", "age": json.Number("9007199254740993")})
	code, _ := e.submit("registration", url.Values{"method": {"password"}, "password": {lookalikePassword},
		"traits.email": {"form@example.com"}, "traits.age": {"9007199254740995"}})
	if code != http.StatusOK {
		t.Fatalf("register with a form: %d", code)
	}
	e.mustRegister(map[string]any{"email": "small@example.com", "age": json.Number("36")})

	want := map[string]string{"big@example.com": "9007199254740993", "form@example.com": "9007199254740995", "small@example.com": "36"}
	for _, id := range e.identities() {
		raw, err := json.Marshal(id.Traits["age"])
		if err != nil {
			t.Fatal(err)
		}
		email, _ := id.Traits["email"].(string)
		if string(raw) != want[email] {
			t.Errorf("%s: age %s, want %s", email, raw, want[email])
		}
	}
	// And through the API: whoami after login.
	code, res := e.submit("login", map[string]any{"method": "password", "identifier": "big@example.com", "password": lookalikePassword})
	if code != http.StatusOK {
		t.Fatalf("login: %d %v", code, res)
	}
	token, _ := res["session_token"].(string)
	r := httptest.NewRequest(http.MethodGet, "http://app.test/sessions/whoami", nil)
	r.Header.Set("X-Session-Token", token)
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	e.s.ServePublic(w, r, "/sessions/whoami")
	if !strings.Contains(w.Body.String(), `"age":9007199254740993`) {
		t.Errorf("whoami: %d %s; want age 9007199254740993", w.Code, w.Body.String())
	}
}
