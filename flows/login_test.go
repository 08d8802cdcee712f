package flows

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

const adaEmail = "ada@example.com"

// initPath is the init endpoint of a flow kind for the caller.
func (c *client) initPath(kind string) string {
	if c.kind == callerAPI {
		return DefaultPublicPrefix + "/self-service/" + kind + "/api"
	}
	return DefaultPublicPrefix + "/self-service/" + kind + "/browser"
}

func loginWith(identifier, password string) map[string]string {
	return map[string]string{"method": "password", "identifier": identifier, "password": password}
}

// startLoginAs stores Ada and starts a login flow for the caller.
func startLoginAs(e *flowEnv, c *client, sc *scene) *seenFlow {
	sc.kind, sc.id = identity.KindLogin, e.addIdentity(adaEmail)
	f := c.begin(identity.KindLogin, "")
	sc.flowID = f.ID
	return f
}

// signedInAs stores Ada and gives the caller a session of hers.
func signedInAs(e *flowEnv, c *client, sc *scene) {
	sc.id = e.addIdentity(adaEmail)
	sc.token = e.addSession(sc.id)
	c.signIn(sc.token)
}

// wantNewSession: the caller now holds a new session of sc.id, its only one.
func wantNewSession(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
	token := c.sessionToken()
	if c.kind == callerAPI {
		token = a.doc.SessionToken
	}
	if sess := e.session(token); sess == nil || sess.IdentityID != sc.id.ID {
		t.Errorf("the caller's token %q is no session of %s", token, sc.id.ID)
	}
	if a.doc.Session != nil && a.doc.Session.Identity.ID != sc.id.ID {
		t.Errorf("answered the session of %s", a.doc.Session.Identity.ID)
	}
	if n := e.sessionCount(sc.id.ID); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
}

// wantNoSession: nobody was signed in.
func wantNoSession(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
	if n := e.sessionCount(sc.id.ID); n != 0 {
		t.Errorf("%d sessions, want none", n)
	}
	if tok := c.sessionToken(); tok != "" {
		t.Errorf("the caller holds a session credential %q", tok)
	}
}

// wantSameSession: the caller keeps its one session (sc.token).
func wantSameSession(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
	if c.sessionToken() != sc.token {
		t.Errorf("the caller's session credential changed")
	}
	if e.session(sc.token) == nil {
		t.Errorf("the session is gone")
	}
	if n := e.sessionCount(sc.id.ID); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
}

var loginScenarios = map[string]scenario{
	"success": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.submit(startLoginAs(e, c, sc), loginWith(adaEmail, testPassword))
		},
		after: wantNewSession,
	},
	"wrong password": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.submit(startLoginAs(e, c, sc), loginWith(adaEmail, "not her password"))
		},
		after: wantNoSession,
	},
	"unknown identifier": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.submit(startLoginAs(e, c, sc), loginWith("nobody@example.com", testPassword))
		},
		after: wantNoSession,
	},
	"inactive identity": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startLoginAs(e, c, sc)
			sc.id.State = identity.IdentityInactive
			if err := e.store.UpdateIdentity(context.Background(), sc.id); err != nil {
				e.t.Fatal(err)
			}
			return c.submit(f, loginWith(adaEmail, testPassword))
		},
		after: wantNoSession,
	},
	"missing CSRF token": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			fields := loginWith(adaEmail, testPassword)
			fields["csrf_token"] = ""
			return c.submit(startLoginAs(e, c, sc), fields)
		},
		after: wantNoSession,
	},
	"cookie on an API flow": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.submit(startLoginAs(e, c, sc), loginWith(adaEmail, testPassword), "Cookie", "theme=dark")
		},
		after: wantNoSession,
	},
	"expired flow": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startLoginAs(e, c, sc)
			e.clock.Add(DefaultFlowLifespan + time.Minute)
			return c.submit(f, loginWith(adaEmail, testPassword))
		},
		after: wantNoSession,
	},
	"expired flow without CSRF token": {
		// Expiry is decided before the CSRF token is checked.
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startLoginAs(e, c, sc)
			e.clock.Add(DefaultFlowLifespan + time.Minute)
			fields := loginWith(adaEmail, testPassword)
			fields["csrf_token"] = ""
			return c.submit(f, fields)
		},
		after: wantNoSession,
	},
	"already signed in": {
		// The flow was started signed out; the submit comes with a session.
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startLoginAs(e, c, sc)
			sc.token = e.addSession(sc.id)
			c.signIn(sc.token)
			return c.submit(f, loginWith(adaEmail, testPassword))
		},
		after: wantSameSession,
	},
	"init while signed in": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			signedInAs(e, c, sc)
			return c.do(http.MethodGet, c.initPath(identity.KindLogin), "", "")
		},
		after: wantSameSession,
	},
	"refresh login": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			signedInAs(e, c, sc)
			e.clock.Add(DefaultPrivilegedSessionMaxAge + time.Minute)
			sc.kind = identity.KindLogin
			f := c.begin(identity.KindLogin, "refresh=true")
			sc.flowID = f.ID
			return c.submit(f, loginWith(f.nodeValue("identifier"), testPassword))
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			wantSameSession(t, e, c, sc, a)
			if c.kind == callerAPI && a.doc.SessionToken != sc.token {
				t.Errorf("session_token %q, want the refreshed session's", a.doc.SessionToken)
			}
			sess := e.session(sc.token)
			if sess == nil {
				return
			}
			if !sess.AuthenticatedAt.Equal(e.clock.Now()) || !sess.IsPrivileged(e.clock.Now(), DefaultPrivilegedSessionMaxAge) {
				t.Errorf("authenticated_at %s, want now (%s)", sess.AuthenticatedAt, e.clock.Now())
			}
			if n := len(sess.AuthenticationMethods); n != 2 {
				t.Errorf("%d authentication methods, want 2", n)
			}
		},
	},
}

func TestLoginFlow(t *testing.T) {
	signedInJSON := expect{status: http.StatusBadRequest, errorID: "session_already_available"}
	// A wrong password and an unknown identifier get the same answer: the
	// form does not tell which accounts exist.
	badCredentials := map[callerKind]expect{
		callerBrowser: {status: http.StatusSeeOther, location: "{pub}/ui/login?flow={flow}", state: "choose_method", messages: []int{4000006}},
		callerSPA:     {status: http.StatusBadRequest, state: "choose_method", messages: []int{4000006}},
		callerAPI:     {status: http.StatusBadRequest, state: "choose_method", messages: []int{4000006}},
	}
	runRows(t, loginScenarios, []row{
		{callerBrowser, "success", expect{status: http.StatusSeeOther, location: "{host}/", sessionCookie: setNew, csrfCookie: setNew}},
		{callerSPA, "success", expect{status: http.StatusOK, session: true, continueTo: "{host}/", sessionCookie: setNew, csrfCookie: setNew}},
		{callerAPI, "success", expect{status: http.StatusOK, session: true, sessionToken: true}},

		{callerBrowser, "wrong password", badCredentials[callerBrowser]},
		{callerSPA, "wrong password", badCredentials[callerSPA]},
		{callerAPI, "wrong password", badCredentials[callerAPI]},

		{callerBrowser, "unknown identifier", badCredentials[callerBrowser]},
		{callerSPA, "unknown identifier", badCredentials[callerSPA]},
		{callerAPI, "unknown identifier", badCredentials[callerAPI]},

		{callerBrowser, "inactive identity", badCredentials[callerBrowser]},
		{callerSPA, "inactive identity", badCredentials[callerSPA]},
		{callerAPI, "inactive identity", badCredentials[callerAPI]},

		{callerBrowser, "missing CSRF token", expect{status: http.StatusSeeOther, location: "{pub}/ui/error?id={err}", errorID: "security_csrf_violation"}},
		{callerSPA, "missing CSRF token", expect{status: http.StatusForbidden, errorID: "security_csrf_violation"}},
		{callerAPI, "cookie on an API flow", expect{status: http.StatusBadRequest, state: "choose_method", messages: []int{4000001}}},

		{callerBrowser, "expired flow", expect{status: http.StatusSeeOther, location: "{pub}/ui/login?flow={new}", state: "choose_method", messages: []int{4010001}}},
		{callerSPA, "expired flow", expect{status: http.StatusGone, errorID: "self_service_flow_expired", state: "choose_method", messages: []int{4010001}}},
		{callerAPI, "expired flow", expect{status: http.StatusGone, errorID: "self_service_flow_expired", state: "choose_method", messages: []int{4010001}}},

		{callerBrowser, "expired flow without CSRF token", expect{status: http.StatusSeeOther, location: "{pub}/ui/login?flow={new}", state: "choose_method", messages: []int{4010001}}},
		{callerSPA, "expired flow without CSRF token", expect{status: http.StatusGone, errorID: "self_service_flow_expired", state: "choose_method", messages: []int{4010001}}},

		// JSON for every caller, browsers too (docs/api.md, "Login").
		{callerBrowser, "already signed in", signedInJSON},
		{callerSPA, "already signed in", signedInJSON},
		{callerAPI, "already signed in", signedInJSON},

		{callerBrowser, "init while signed in", expect{status: http.StatusSeeOther, location: "{host}/"}},
		{callerSPA, "init while signed in", signedInJSON},
		{callerAPI, "init while signed in", signedInJSON},

		// Same session and token; the CSRF cookie is kept.
		{callerBrowser, "refresh login", expect{status: http.StatusSeeOther, location: "{host}/", sessionCookie: setAgain}},
		{callerSPA, "refresh login", expect{status: http.StatusOK, session: true, continueTo: "{host}/", sessionCookie: setAgain}},
		{callerAPI, "refresh login", expect{status: http.StatusOK, session: true, sessionToken: true}},
	})
}
