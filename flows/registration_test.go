package flows

import (
	"net/http"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

const graceEmail = "grace@example.com"

// signUpAs is a registration of email with testPassword.
func signUpAs(email string) map[string]string {
	return map[string]string{
		"method": "password", "password": testPassword,
		"traits.email": email, "traits.name.first": "Grace", "traits.name.last": "Hopper",
	}
}

// startRegistration starts a registration flow for the caller.
func startRegistration(c *client, sc *scene) *seenFlow {
	sc.kind = identity.KindRegistration
	f := c.begin(identity.KindRegistration, "")
	sc.flowID = f.ID
	return f
}

// wantNoIdentityFor: nothing was stored under this identifier; the store
// holds n identities and the caller is signed out.
func wantNoIdentityFor(identifier string, n int) func(*testing.T, *flowEnv, *client, *scene, *answer) {
	return func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
		if identifier != "" && e.identifierHolder(identifier) != "" {
			t.Errorf("an identity holds %s", identifier)
		}
		if got := e.identityCount(); got != n {
			t.Errorf("%d identities, want %d", got, n)
		}
		if tok := c.sessionToken(); tok != "" && (sc.token == "" || tok != sc.token) {
			t.Errorf("the caller holds a new session credential %q", tok)
		}
	}
}

var registrationScenarios = map[string]scenario{
	"success": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.submit(startRegistration(c, sc), signUpAs(graceEmail))
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			holder := e.identifierHolder(graceEmail)
			if holder == "" {
				t.Fatalf("no identity holds %s", graceEmail)
			}
			sc.id = e.identity(holder)
			if first := sc.id.Traits["name"].(map[string]any)["first"]; first != "Grace" {
				t.Errorf("stored name.first %v", first)
			}
			if a.doc.Identity != nil && a.doc.Identity.ID != holder {
				t.Errorf("answered identity %s, stored %s", a.doc.Identity.ID, holder)
			}
			wantNewSession(t, e, c, sc, a) // registration signs the new identity in
		},
	},
	"duplicate identifier": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			sc.id = e.addIdentity(graceEmail)
			fields := signUpAs(graceEmail)
			fields["password"] = "another long passphrase"
			return c.submit(startRegistration(c, sc), fields)
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			if holder := e.identifierHolder(graceEmail); holder != sc.id.ID {
				t.Errorf("%s is held by %q, want the first identity %s", graceEmail, holder, sc.id.ID)
			}
			wantNoIdentityFor("", 1)(t, e, c, sc, a)
			wantNoSession(t, e, c, sc, a)
		},
	},
	"schema violation": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			fields := signUpAs("not-an-email")
			fields["traits.name.first"] = "G"
			return c.submit(startRegistration(c, sc), fields)
		},
		after: wantNoIdentityFor("not-an-email", 0),
	},
	"missing password": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			fields := signUpAs(graceEmail)
			fields["password"] = ""
			return c.submit(startRegistration(c, sc), fields)
		},
		after: wantNoIdentityFor(graceEmail, 0),
	},
	"missing CSRF token": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			fields := signUpAs(graceEmail)
			fields["csrf_token"] = ""
			return c.submit(startRegistration(c, sc), fields)
		},
		after: wantNoIdentityFor(graceEmail, 0),
	},
	"expired flow": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startRegistration(c, sc)
			e.clock.Add(DefaultFlowLifespan + time.Minute)
			return c.submit(f, signUpAs(graceEmail))
		},
		after: wantNoIdentityFor(graceEmail, 0),
	},
	"init while signed in": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			signedInAs(e, c, sc)
			return c.do(http.MethodGet, c.initPath(identity.KindRegistration), "", "")
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			wantSameSession(t, e, c, sc, a)
		},
	},
	"already signed in": {
		// The flow was started signed out; the submit comes with Ada's session.
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startRegistration(c, sc)
			signedInAs(e, c, sc)
			return c.submit(f, signUpAs(graceEmail))
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			wantNoIdentityFor(graceEmail, 1)(t, e, c, sc, a)
			wantSameSession(t, e, c, sc, a)
		},
	},
}

func TestRegistrationFlow(t *testing.T) {
	invalid := func(k callerKind, msgs []int, nodeMsgs map[string]int) expect {
		if k == callerBrowser {
			return expect{status: http.StatusSeeOther, location: "{pub}/ui/registration?flow={flow}", state: "choose_method", messages: msgs, nodeMsgs: nodeMsgs}
		}
		return expect{status: http.StatusBadRequest, state: "choose_method", messages: msgs, nodeMsgs: nodeMsgs}
	}
	// Every failing field gets its message: format (4000001, generic, as in
	// Kratos) and minLength (4000003).
	badTraits := map[string]int{"traits.email": 4000001, "traits.name.first": 4000003}
	signedIn := expect{status: http.StatusBadRequest, errorID: "session_already_available"}
	expired := expect{status: http.StatusGone, errorID: "self_service_flow_expired", state: "choose_method", messages: []int{4040001}}
	runRows(t, registrationScenarios, []row{
		{callerBrowser, "success", expect{status: http.StatusSeeOther, location: "{host}/", sessionCookie: setNew, csrfCookie: setNew}},
		{callerSPA, "success", expect{status: http.StatusOK, session: true, identity: true, continueTo: "{host}/", sessionCookie: setNew, csrfCookie: setNew}},
		{callerAPI, "success", expect{status: http.StatusOK, session: true, identity: true, sessionToken: true}},

		{callerBrowser, "duplicate identifier", invalid(callerBrowser, []int{4000007}, nil)},
		{callerSPA, "duplicate identifier", invalid(callerSPA, []int{4000007}, nil)},
		{callerAPI, "duplicate identifier", invalid(callerAPI, []int{4000007}, nil)},

		{callerBrowser, "schema violation", invalid(callerBrowser, nil, badTraits)},
		{callerSPA, "schema violation", invalid(callerSPA, nil, badTraits)},
		{callerAPI, "schema violation", invalid(callerAPI, nil, badTraits)},

		{callerBrowser, "missing password", invalid(callerBrowser, nil, map[string]int{"password": 4000002})},
		{callerSPA, "missing password", invalid(callerSPA, nil, map[string]int{"password": 4000002})},
		{callerAPI, "missing password", invalid(callerAPI, nil, map[string]int{"password": 4000002})},

		{callerBrowser, "missing CSRF token", expect{status: http.StatusSeeOther, location: "{pub}/ui/error?id={err}", errorID: "security_csrf_violation"}},
		{callerSPA, "missing CSRF token", expect{status: http.StatusForbidden, errorID: "security_csrf_violation"}},

		{callerBrowser, "expired flow", expect{status: http.StatusSeeOther, location: "{pub}/ui/registration?flow={new}", state: "choose_method", messages: []int{4040001}}},
		{callerSPA, "expired flow", expired},
		{callerAPI, "expired flow", expired},

		// Unlike login, a browser goes to the error UI (docs/api.md, "Registration").
		{callerBrowser, "already signed in", expect{status: http.StatusSeeOther, location: "{pub}/ui/error?id={err}", errorID: "session_already_available"}},
		{callerSPA, "already signed in", signedIn},
		{callerAPI, "already signed in", signedIn},

		{callerBrowser, "init while signed in", expect{status: http.StatusSeeOther, location: "{host}/"}},
		{callerSPA, "init while signed in", signedIn},
		{callerAPI, "init while signed in", signedIn},
	})
}
