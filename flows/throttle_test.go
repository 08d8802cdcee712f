package flows

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
	"github.com/seed06f30684/caddy-kratos/text"
)

// TestLoginThrottleBrowser: a browser past the failed-login limit gets the
// flow back with a message (303 to the login UI), the count moves on the
// injected clock, and after the window the right password works again.
func TestLoginThrottleBrowser(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	store := clock.Store()
	s, err := New(Config{Schema: testenv.Schema(t, testenv.PersonSchema), Store: store, Limiter: store,
		PasswordCost: 4, Now: clock.Now, LoginFailures: identity.Limit{Events: 2, Per: 10 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	id := s.NewIdentity(map[string]any{"email": "ada@example.com"})
	if err := s.SetPassword(id, "a long enough secret"); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateIdentity(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	login := func(password string) (*httptest.ResponseRecorder, *identity.Flow) {
		init := httptest.NewRecorder()
		s.ServePublic(init, httptest.NewRequest(http.MethodGet, "http://app.test/self-service/login/browser", nil), "/self-service/login/browser")
		flowID := strings.TrimPrefix(init.Header().Get("Location")[strings.Index(init.Header().Get("Location"), "flow="):], "flow=")
		var csrfCookie *http.Cookie
		for _, c := range init.Result().Cookies() {
			if strings.HasPrefix(c.Name, "csrf_token_") {
				csrfCookie = c
			}
		}
		f, err := store.GetFlow(t.Context(), flowID)
		if err != nil || csrfCookie == nil {
			t.Fatalf("init: %v, cookies %v", err, init.Result().Cookies())
		}
		token := ""
		for _, n := range f.UI.Nodes {
			if n.Attributes.Name == "csrf_token" {
				token, _ = n.Attributes.Value.(string)
			}
		}
		form := url.Values{"method": {"password"}, "identifier": {"ada@example.com"}, "password": {password}, "csrf_token": {token}}
		r := httptest.NewRequest(http.MethodPost, "http://app.test/self-service/login?flow="+flowID, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(csrfCookie)
		w := httptest.NewRecorder()
		s.ServePublic(w, r, "/self-service/login")
		f, _ = store.GetFlow(t.Context(), flowID)
		return w, f
	}
	for range 2 {
		if w, _ := login("wrong password"); w.Code != http.StatusSeeOther {
			t.Fatalf("wrong password: %d", w.Code)
		}
	}
	w, f := login("a long enough secret")
	if w.Code != http.StatusSeeOther || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Header().Get("Location"), "/ui/login?flow=") {
		t.Fatalf("throttled browser login: %d %v", w.Code, w.Header())
	}
	if len(f.UI.Messages) != 1 || f.UI.Messages[0].ID != text.ErrorValidationGeneric || !strings.Contains(f.UI.Messages[0].Text, "Too many failed attempts") {
		raw, _ := json.Marshal(f.UI.Messages)
		t.Fatalf("the flow's message: %s", raw)
	}
	clock.Add(10 * time.Minute)
	if w, _ := login("a long enough secret"); w.Code != http.StatusSeeOther || strings.Contains(w.Header().Get("Location"), "/ui/login") {
		t.Fatalf("after the window: %d %v", w.Code, w.Header())
	}
}
