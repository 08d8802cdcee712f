package flows

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// logoutURL asks for the caller's logout URL: JSON for every caller,
// browsers too (docs/api.md, "Logout").
func (c *client) logoutURL() string {
	t := c.e.t
	t.Helper()
	a := c.do(http.MethodGet, DefaultPublicPrefix+"/self-service/logout/browser", "", "")
	if a.Code != http.StatusOK || !a.json || !strings.HasPrefix(a.doc.LogoutURL, testPub+"/self-service/logout?token=ory_lo_") {
		t.Fatalf("logout URL: %d %s", a.Code, a.Body)
	}
	if u, _ := url.Parse(a.doc.LogoutURL); u.Query().Get("token") != a.doc.LogoutToken {
		t.Errorf("logout_url %s does not carry logout_token %s", a.doc.LogoutURL, a.doc.LogoutToken)
	}
	return a.doc.LogoutURL
}

// apiLogout is DELETE /self-service/logout/api with this session_token.
func (c *client) apiLogout(token string) *answer {
	c.e.t.Helper()
	raw, _ := json.Marshal(map[string]string{"session_token": token})
	return c.do(http.MethodDelete, DefaultPublicPrefix+"/self-service/logout/api", "application/json", string(raw))
}

// logOut logs the caller's session out the caller's way.
func (c *client) logOut() *answer {
	c.e.t.Helper()
	if c.kind == callerAPI {
		return c.apiLogout(c.token)
	}
	return c.do(http.MethodGet, c.logoutURL(), "", "")
}

// wantLoggedOut: the session is gone from the store (and from the jar of
// browsers and SPAs); the identity stays.
func wantLoggedOut(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
	if e.session(sc.token) != nil {
		t.Error("the session still works")
	}
	if n := e.sessionCount(sc.id.ID); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if c.kind != callerAPI && c.sessionToken() != "" {
		t.Error("the session cookie was not cleared")
	}
	if e.identity(sc.id.ID) == nil {
		t.Error("the identity went with the session")
	}
}

// wantStillSignedIn: the session survived.
func wantStillSignedIn(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
	if e.session(sc.token) == nil {
		t.Error("the session is gone")
	}
}

var logoutScenarios = map[string]scenario{
	"logout": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			signedInAs(e, c, sc)
			return c.logOut()
		},
		after: wantLoggedOut,
	},
	"bad token": {
		// A logout token of another session; for the API, a well-formed
		// session token that belongs to no session.
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			signedInAs(e, c, sc)
			other := identity.NewSessionToken(sc.id.ID)
			if c.kind == callerAPI {
				return c.apiLogout(other)
			}
			return c.do(http.MethodGet, DefaultPublicPrefix+"/self-service/logout?token="+identity.LogoutToken(other), "", "")
		},
		after: wantStillSignedIn,
	},
	"logout replayed": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			signedInAs(e, c, sc)
			if c.kind == callerAPI {
				if a := c.apiLogout(sc.token); a.Code != http.StatusNoContent {
					e.t.Fatalf("first logout: %d %s", a.Code, a.Body)
				}
				return c.apiLogout(sc.token)
			}
			to := c.logoutURL()
			if a := c.do(http.MethodGet, to, "", ""); a.Code/100 != 2 && a.Code/100 != 3 {
				e.t.Fatalf("first logout: %d %s", a.Code, a.Body)
			}
			c.signIn(sc.token) // a stale cookie, as an old tab would send it
			return c.do(http.MethodGet, to, "", "")
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			if e.session(sc.token) != nil {
				t.Error("the session came back")
			}
		},
	},
	"no session": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.do(http.MethodGet, DefaultPublicPrefix+"/self-service/logout/browser", "", "")
		},
	},
	"missing token": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			signedInAs(e, c, sc)
			if c.kind == callerAPI {
				return c.do(http.MethodDelete, DefaultPublicPrefix+"/self-service/logout/api", "application/json", "{}")
			}
			return c.do(http.MethodGet, DefaultPublicPrefix+"/self-service/logout", "", "")
		},
		after: wantStillSignedIn,
	},
	"malformed token": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			signedInAs(e, c, sc)
			return c.apiLogout(sc.token[:len(sc.token)-1])
		},
		after: wantStillSignedIn,
	},
}

func TestLogout(t *testing.T) {
	const (
		mismatch = "does not match the session cookie"
		notFound = "could not be found, is invalid, or otherwise malformed"
		noToken  = "Please include a token in the URL query."
	)
	errorUI := func(id, reason string) expect {
		return expect{status: http.StatusSeeOther, location: "{pub}/ui/error?id={err}", errorID: id, reason: reason}
	}
	runRows(t, logoutScenarios, []row{
		// The CSRF cookie is replaced with the session cookie cleared.
		{callerBrowser, "logout", expect{status: http.StatusSeeOther, location: "{host}/", sessionCookie: cleared, csrfCookie: setNew}},
		{callerSPA, "logout", expect{status: http.StatusNoContent, sessionCookie: cleared, csrfCookie: setNew}},
		{callerAPI, "logout", expect{status: http.StatusNoContent}},

		{callerBrowser, "bad token", errorUI("", mismatch)},
		{callerSPA, "bad token", expect{status: http.StatusForbidden, reason: mismatch}},
		{callerAPI, "bad token", expect{status: http.StatusForbidden, reason: notFound}},

		{callerBrowser, "logout replayed", errorUI("", mismatch)},
		{callerSPA, "logout replayed", expect{status: http.StatusForbidden, reason: mismatch}},
		{callerAPI, "logout replayed", expect{status: http.StatusForbidden, reason: notFound}},

		{callerBrowser, "no session", errorUI("session_inactive", "")},
		{callerSPA, "no session", expect{status: http.StatusUnauthorized, errorID: "session_inactive"}},

		{callerBrowser, "missing token", errorUI("", noToken)},
		{callerSPA, "missing token", expect{status: http.StatusBadRequest, reason: noToken}},
		{callerAPI, "missing token", expect{status: http.StatusForbidden, reason: notFound}},
		{callerAPI, "malformed token", expect{status: http.StatusForbidden, reason: notFound}},
	})
}
