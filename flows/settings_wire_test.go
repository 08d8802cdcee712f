package flows

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// sendAs sends a request with the browser's cookies and these headers
// (name, value pairs); a string body is sent as is. Cookies the answer sets
// are not kept.
func sendAs(b *uiBrowser, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t := b.env.t
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, uiHost+u.RequestURI(), strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	rel, ok := strings.CutPrefix(u.Path, uiPrefix)
	if !ok {
		t.Fatalf("request outside the public API: %s", target)
	}
	b.env.s.ServePublic(rec, req, rel)
	return rec
}

// setCookie is the cookie named name a response sets, or nil.
func setCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// wantSessionCookieReissued checks a response sets the session cookie with
// the browser's token and the session's expiry.
func wantSessionCookieReissued(t *testing.T, e *uiEnv, rec *httptest.ResponseRecorder, token string) {
	t.Helper()
	c := setCookie(rec, SessionCookie)
	if c == nil {
		t.Fatalf("no Set-Cookie %s; headers %v", SessionCookie, rec.Header())
	}
	if c.Value != token {
		t.Errorf("re-issued token %q, want %q", c.Value, token)
	}
	sess, _, err := e.s.cfg.Store.GetSession(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Expires.Sub(sess.ExpiresAt); d < -time.Second || d > time.Second {
		t.Errorf("cookie expires %s, the session %s", c.Expires, sess.ExpiresAt)
	}
	if want := int(sess.ExpiresAt.Sub(e.clock.Now()) / time.Second); c.MaxAge != want {
		t.Errorf("cookie Max-Age %d, want %d", c.MaxAge, want)
	}
	if !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie attributes %+v", c)
	}
}

func TestSettingsSuccessReissuesSessionCookie(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	b.register("ada@example.com", "Augusta", "King")
	token := b.cookies[SessionCookie].Value
	env.clock.Add(time.Hour) // the re-issued cookie's Max-Age is what is left

	t.Run("plain browser", func(t *testing.T) {
		rec, _ := b.follow(uiPrefix + "/self-service/settings/browser")
		action, form := formOf(t, rec.Body.String(), "settings-profile", "method")
		form.Set("traits.name.first", "Adaline")
		res := sendAs(b, http.MethodPost, action, form.Encode(), "Content-Type", "application/x-www-form-urlencoded",
			"Accept", "text/html")
		if res.Code != http.StatusSeeOther {
			t.Fatalf("status %d\n%s", res.Code, res.Body)
		}
		wantSessionCookieReissued(t, env, res, token)
	})

	t.Run("SPA", func(t *testing.T) {
		init := sendAs(b, http.MethodGet, uiPrefix+"/self-service/settings/browser", "", "Accept", "application/json")
		var f struct {
			UI struct {
				Action string          `json:"action"`
				Nodes  []identity.Node `json:"nodes"`
			} `json:"ui"`
		}
		if init.Code != http.StatusOK || json.Unmarshal(init.Body.Bytes(), &f) != nil {
			t.Fatalf("init: %d %s", init.Code, init.Body)
		}
		csrf, _ := f.UI.Nodes[form.Index(f.UI.Nodes, "csrf_token")].Attributes.Value.(string)
		body, _ := json.Marshal(map[string]any{"method": "profile", "csrf_token": csrf,
			"traits": map[string]any{"email": "ada@example.com", "name": map[string]any{"first": "Adelaide"}}})
		res := sendAs(b, http.MethodPost, f.UI.Action, string(body), "Content-Type", "application/json", "Accept", "application/json")
		if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), `"state":"success"`) {
			t.Fatalf("status %d\n%s", res.Code, res.Body)
		}
		wantSessionCookieReissued(t, env, res, token)
	})

	t.Run("API flow", func(t *testing.T) {
		init := sendAs(&uiBrowser{env: env}, http.MethodGet, uiPrefix+"/self-service/settings/api", "", "X-Session-Token", token)
		var f struct {
			UI struct {
				Action string `json:"action"`
			} `json:"ui"`
		}
		if init.Code != http.StatusOK || json.Unmarshal(init.Body.Bytes(), &f) != nil {
			t.Fatalf("init: %d %s", init.Code, init.Body)
		}
		res := sendAs(&uiBrowser{env: env}, http.MethodPost, f.UI.Action,
			`{"method":"profile","traits":{"email":"ada@example.com","name":{"first":"Adelina"}}}`,
			"Content-Type", "application/json", "X-Session-Token", token)
		if res.Code != http.StatusOK {
			t.Fatalf("status %d\n%s", res.Code, res.Body)
		}
		if c := setCookie(res, SessionCookie); c != nil {
			t.Errorf("an API flow's success sets a session cookie: %v", c)
		}
	})
}

func TestSettingsFetchExpiredKeepsReturnTo(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	b.register("ada@example.com", "Augusta", "King")
	_, withReturn := b.follow(uiPrefix + "/self-service/settings/browser?return_to=/account")
	_, without := b.follow(uiPrefix + "/self-service/settings/browser")
	env.clock.Add(2 * time.Hour) // past the flows' lifespan, not the session's
	pub := uiHost + uiPrefix
	for _, tc := range []struct{ at, want string }{
		{withReturn, pub + "/self-service/settings/browser?return_to=http%3A%2F%2Fexample.com%2Faccount"},
		{without, pub + "/self-service/settings/browser"},
	} {
		rec := sendAs(b, http.MethodGet, uiPrefix+"/self-service/settings/flows?id="+flowParam(t, tc.at, "flow"), "",
			"Accept", "application/json")
		var e struct {
			Error struct {
				ID      string         `json:"id"`
				Details map[string]any `json:"details"`
			} `json:"error"`
		}
		if rec.Code != http.StatusGone || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.ID != "self_service_flow_expired" {
			t.Fatalf("status %d\n%s", rec.Code, rec.Body)
		}
		if got := e.Error.Details["redirect_to"]; got != tc.want {
			t.Errorf("redirect_to %v, want %s", got, tc.want)
		}
	}
}

func TestSettingsAPIFlowWithoutSession(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	b.register("ada@example.com", "Augusta", "King")
	token := b.cookies[SessionCookie].Value
	anon := &uiBrowser{env: env}
	init := sendAs(anon, http.MethodGet, uiPrefix+"/self-service/settings/api", "", "X-Session-Token", token)
	var f struct {
		UI struct {
			Action string `json:"action"`
		} `json:"ui"`
	}
	if init.Code != http.StatusOK || json.Unmarshal(init.Body.Bytes(), &f) != nil {
		t.Fatalf("init: %d %s", init.Code, init.Body)
	}
	form := url.Values{"method": {"profile"}, "traits.email": {"ada@example.com"}}.Encode()

	// Not JSON: a 302 to the login UI, like a plain browser.
	rec := sendAs(anon, http.MethodPost, f.UI.Action, form, "Content-Type", "application/x-www-form-urlencoded",
		"Accept", "text/html")
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != uiHost+uiPrefix+siteurl.LoginPath {
		t.Errorf("form post: %d to %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	// JSON by its Accept header or its body: 401.
	for _, tc := range []struct {
		body    string
		headers []string
	}{
		{form, []string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json"}},
		{`{"method":"profile","traits":{"email":"ada@example.com"}}`, []string{"Content-Type", "application/json"}},
	} {
		rec := sendAs(anon, http.MethodPost, f.UI.Action, tc.body, tc.headers...)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "A valid Ory Session Cookie or Ory Session Token is missing.") {
			t.Errorf("%v: %d\n%s", tc.headers, rec.Code, rec.Body)
		}
	}
}
