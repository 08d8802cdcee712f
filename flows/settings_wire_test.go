package flows

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// wantSessionCookieReissued checks a response sets the session cookie with
// the browser's token and the session's expiry.
func wantSessionCookieReissued(t *testing.T, e *flowEnv, rec *answer, token string) {
	t.Helper()
	c := rec.Cookie(SessionCookie)
	if c == nil {
		t.Fatalf("no Set-Cookie %s; headers %v", SessionCookie, rec.Header())
	}
	if c.Value != token {
		t.Errorf("re-issued token %q, want %q", c.Value, token)
	}
	sess, _, err := e.store.GetSession(context.Background(), token)
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
	env, b := signedUpAda(t)
	token := b.cookies[SessionCookie]
	env.clock.Add(time.Hour) // the re-issued cookie's Max-Age is what is left

	t.Run("plain browser", func(t *testing.T) {
		rec, _ := b.follow(DefaultPublicPrefix + "/self-service/settings/browser")
		action, form := formOf(t, rec.Body.String(), "settings-profile", "method")
		form.Set("traits.name.first", "Adaline")
		res := b.do(http.MethodPost, action, "application/x-www-form-urlencoded", form.Encode(), "Accept", "text/html")
		if res.Code != http.StatusSeeOther {
			t.Fatalf("status %d\n%s", res.Code, res.Body)
		}
		wantSessionCookieReissued(t, env, res, token)
	})

	t.Run("SPA", func(t *testing.T) {
		init := b.get(DefaultPublicPrefix+"/self-service/settings/browser", "Accept", "application/json")
		if init.Code != http.StatusOK || !init.json {
			t.Fatalf("init: %d %s", init.Code, init.Body)
		}
		body, _ := json.Marshal(map[string]any{"method": "profile", "csrf_token": init.doc.nodeValue("csrf_token"),
			"traits": map[string]any{"email": "ada@example.com", "name": map[string]any{"first": "Adelaide"}}})
		res := b.do(http.MethodPost, init.doc.UI.Action, "application/json", string(body), "Accept", "application/json")
		if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), `"state":"success"`) {
			t.Fatalf("status %d\n%s", res.Code, res.Body)
		}
		wantSessionCookieReissued(t, env, res, token)
	})

	t.Run("API flow", func(t *testing.T) {
		api := env.newClient(callerAPI)
		api.signIn(token)
		res := api.do(http.MethodPost, api.begin(identity.KindSettings, "").UI.Action, "application/json",
			`{"method":"profile","traits":{"email":"ada@example.com","name":{"first":"Adelina"}}}`)
		if res.Code != http.StatusOK {
			t.Fatalf("status %d\n%s", res.Code, res.Body)
		}
		if c := res.Cookie(SessionCookie); c != nil {
			t.Errorf("an API flow's success sets a session cookie: %v", c)
		}
	})
}

func TestSettingsFetchExpiredKeepsReturnTo(t *testing.T) {
	env, b := signedUpAda(t)
	_, withReturn := b.follow(DefaultPublicPrefix + "/self-service/settings/browser?return_to=/account")
	_, without := b.follow(DefaultPublicPrefix + "/self-service/settings/browser")
	env.clock.Add(2 * time.Hour) // past the flows' lifespan, not the session's
	for _, tc := range []struct{ at, want string }{
		{withReturn, testPub + "/self-service/settings/browser?return_to=http%3A%2F%2Fexample.com%2Faccount"},
		{without, testPub + "/self-service/settings/browser"},
	} {
		rec := b.get(DefaultPublicPrefix+"/self-service/settings/flows?id="+flowParam(t, tc.at, "flow"), "Accept", "application/json")
		// Kratos' settings fetch answers x.ErrGone without an id.
		if e := rec.doc.Error; rec.Code != http.StatusGone || e == nil || e.ID != "" {
			t.Fatalf("status %d\n%s", rec.Code, rec.Body)
		}
		if got := rec.doc.Error.Details["redirect_to"]; got != tc.want {
			t.Errorf("redirect_to %v, want %s", got, tc.want)
		}
	}
}

func TestSettingsAPIFlowWithoutSession(t *testing.T) {
	env, b := signedUpAda(t)
	token := b.cookies[SessionCookie]
	anon := env.newClient(callerAPI)
	anon.signIn(token)
	action := anon.begin(identity.KindSettings, "").UI.Action
	anon.signOut()
	form := url.Values{"method": {"profile"}, "traits.email": {"ada@example.com"}}.Encode()

	// Not JSON: a 302 to the login UI, like a plain browser.
	rec := anon.do(http.MethodPost, action, "application/x-www-form-urlencoded", form, "Accept", "text/html")
	if rec.Code != http.StatusFound || rec.Location() != testPub+siteurl.LoginPath {
		t.Errorf("form post: %d to %q\n%s", rec.Code, rec.Location(), rec.Body)
	}
	// JSON by its Accept header or its body (no Accept): 401.
	for _, tc := range []struct {
		body    string
		headers []string
	}{
		{form, []string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json"}},
		{`{"method":"profile","traits":{"email":"ada@example.com"}}`, []string{"Content-Type", "application/json", "Accept", ""}},
	} {
		rec := anon.do(http.MethodPost, action, "", tc.body, tc.headers...)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "A valid Ory Session Cookie or Ory Session Token is missing.") {
			t.Errorf("%v: %d\n%s", tc.headers, rec.Code, rec.Body)
		}
	}
}
