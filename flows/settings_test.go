package flows

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
)

const newPassphrase = "a brand new passphrase 42"

// startSettings signs Ada in and starts a settings flow for the caller.
func startSettings(e *flowEnv, c *client, sc *scene) *seenFlow {
	signedInAs(e, c, sc)
	sc.kind = identity.KindSettings
	f := c.begin(identity.KindSettings, "")
	sc.flowID = f.ID
	return f
}

// profileWith is a profile submission: these email and first name, the
// last name kept.
func profileWith(email, first string) map[string]string {
	return map[string]string{"method": "profile", "traits.email": email, "traits.name.first": first, "traits.name.last": "Lovelace"}
}

// wantTraits: Ada's stored email and first name.
func wantTraits(email, first string) func(*testing.T, *flowEnv, *client, *scene, *answer) {
	return func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
		traits := e.identity(sc.id.ID).Traits
		if traits["email"] != email || traits["name"].(map[string]any)["first"] != first {
			t.Errorf("stored traits %v, want email %s and first name %s", traits, email, first)
		}
	}
}

var settingsScenarios = map[string]scenario{
	"profile saved": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.submit(startSettings(e, c, sc), profileWith(adaEmail, "Augusta"))
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			wantTraits(adaEmail, "Augusta")(t, e, c, sc, a)
			wantSameSession(t, e, c, sc, a)
		},
	},
	"password changed": {
		// A fresh session may change the password; the identity's other
		// sessions end (revoke_sessions_on_password_change), this one stays.
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startSettings(e, c, sc)
			sc.extra = e.addSession(sc.id)
			return c.submit(f, map[string]string{"method": "password", "password": newPassphrase})
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			if !passwords.Check(e.identity(sc.id.ID).Password.HashedPassword, newPassphrase) {
				t.Error("the new password does not verify")
			}
			if e.session(sc.extra) != nil {
				t.Error("the other session survived the password change")
			}
			wantSameSession(t, e, c, sc, a)
		},
	},
	"invalid traits": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.submit(startSettings(e, c, sc), profileWith(adaEmail, "A"))
		},
		after: wantTraits(adaEmail, "Ada"),
	},
	"protected change on an old session": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startSettings(e, c, sc)
			e.clock.Add(DefaultPrivilegedSessionMaxAge + time.Minute)
			return c.submit(f, profileWith("ada.new@example.com", "Ada"))
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			wantTraits(adaEmail, "Ada")(t, e, c, sc, a)
			if e.identifierHolder("ada.new@example.com") != "" {
				t.Error("the new email was saved")
			}
			// SPA and API callers submit the same flow again after the
			// refresh login: it keeps what they sent.
			if got := e.storedFlow(sc.flowID).nodeValue("traits.email"); c.kind != callerBrowser && got != "ada.new@example.com" {
				t.Errorf("the flow's email node holds %q, want the submitted value", got)
			}
		},
	},
	"wrong identity's flow": {
		// Ada's flow, submitted with Grace's session.
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startSettings(e, c, sc)
			sc.other = e.addIdentity(graceEmail)
			c.signIn(e.addSession(sc.other))
			return c.submit(f, profileWith(adaEmail, "Mallory"))
		},
		after: func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer) {
			wantTraits(adaEmail, "Ada")(t, e, c, sc, a)
			if got := e.identity(sc.other.ID).Traits["email"]; got != graceEmail {
				t.Errorf("Grace's email is now %v", got)
			}
		},
	},
	"no session": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startSettings(e, c, sc)
			c.signOut()
			return c.submit(f, profileWith(adaEmail, "Augusta"))
		},
		after: wantTraits(adaEmail, "Ada"),
	},
	"expired flow": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startSettings(e, c, sc)
			e.clock.Add(DefaultFlowLifespan + time.Minute)
			return c.submit(f, profileWith(adaEmail, "Augusta"))
		},
		after: wantTraits(adaEmail, "Ada"),
	},
	"expired flow without CSRF token": {
		// Expiry is decided before the CSRF token is checked.
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			f := startSettings(e, c, sc)
			e.clock.Add(DefaultFlowLifespan + time.Minute)
			fields := profileWith(adaEmail, "Augusta")
			fields["csrf_token"] = ""
			return c.submit(f, fields)
		},
		after: wantTraits(adaEmail, "Ada"),
	},
	"init without session": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			return c.do(http.MethodGet, c.initPath(identity.KindSettings), "", "")
		},
	},
	"missing CSRF token": {
		act: func(e *flowEnv, c *client, sc *scene) *answer {
			fields := profileWith(adaEmail, "Augusta")
			fields["csrf_token"] = ""
			return c.submit(startSettings(e, c, sc), fields)
		},
		after: wantTraits(adaEmail, "Ada"),
	},
}

func TestSettingsFlow(t *testing.T) {
	// The refresh login that comes back to the settings UI showing the flow.
	refreshLogin := "{pub}/self-service/login/browser?refresh=true&return_to=" + url.QueryEscape(testPub+"/self-service/settings?flow=") + "{flow}"
	saved := map[callerKind]expect{
		callerBrowser: {status: http.StatusSeeOther, location: "{pub}/ui/settings?flow={flow}", state: "success", messages: []int{1050001}, sessionCookie: setAgain},
		callerSPA: {status: http.StatusOK, state: "success", messages: []int{1050001},
			continueTo: "{pub}/ui/settings?flow={flow}", sessionCookie: setAgain},
		callerAPI: {status: http.StatusOK, state: "success", messages: []int{1050001}},
	}
	badFirstName := map[string]int{"traits.name.first": 4000003}
	refreshRequired := expect{status: http.StatusForbidden, errorID: "session_refresh_required", redirectTo: refreshLogin}
	noSession := expect{status: http.StatusUnauthorized, reason: "A valid Ory Session Cookie or Ory Session Token is missing."}
	initNoSession := expect{status: http.StatusUnauthorized, errorID: "session_inactive",
		reason: "This endpoint can only be accessed with a valid session. Please log in and try again."}
	mismatch := expect{status: http.StatusForbidden, errorID: "security_identity_mismatch"}
	expired := expect{status: http.StatusGone, errorID: "self_service_flow_expired", state: "show_form", messages: []int{4050001}}
	runRows(t, settingsScenarios, []row{
		{callerBrowser, "profile saved", saved[callerBrowser]},
		{callerSPA, "profile saved", saved[callerSPA]},
		{callerAPI, "profile saved", saved[callerAPI]},

		{callerBrowser, "password changed", saved[callerBrowser]},
		{callerSPA, "password changed", saved[callerSPA]},
		{callerAPI, "password changed", saved[callerAPI]},

		{callerBrowser, "invalid traits", expect{status: http.StatusSeeOther, location: "{pub}/ui/settings?flow={flow}", state: "show_form", nodeMsgs: badFirstName}},
		{callerSPA, "invalid traits", expect{status: http.StatusBadRequest, state: "show_form", nodeMsgs: badFirstName}},
		{callerAPI, "invalid traits", expect{status: http.StatusBadRequest, state: "show_form", nodeMsgs: badFirstName}},

		// Browsers: paused in a continuity record, 303 to the refresh login.
		{callerBrowser, "protected change on an old session", expect{status: http.StatusSeeOther, location: refreshLogin, continuityCookie: setNew}},
		{callerSPA, "protected change on an old session", refreshRequired},
		{callerAPI, "protected change on an old session", refreshRequired},

		{callerBrowser, "wrong identity's flow", expect{status: http.StatusSeeOther, location: "{pub}/ui/error?id={err}", errorID: "security_identity_mismatch"}},
		{callerSPA, "wrong identity's flow", mismatch},
		{callerAPI, "wrong identity's flow", mismatch},

		{callerBrowser, "no session", expect{status: http.StatusFound, location: "{pub}/ui/login"}},
		{callerSPA, "no session", noSession}, // 401 without error.id
		{callerAPI, "no session", noSession},

		{callerBrowser, "init without session", expect{status: http.StatusSeeOther, location: "{pub}/self-service/login/browser"}},
		{callerSPA, "init without session", initNoSession},
		{callerAPI, "init without session", initNoSession},

		{callerBrowser, "expired flow", expect{status: http.StatusSeeOther, location: "{pub}/ui/settings?flow={new}", state: "show_form", messages: []int{4050001}}},
		{callerSPA, "expired flow", expired},
		{callerAPI, "expired flow", expired},

		{callerBrowser, "expired flow without CSRF token", expect{status: http.StatusSeeOther, location: "{pub}/ui/settings?flow={new}", state: "show_form", messages: []int{4050001}}},
		{callerSPA, "expired flow without CSRF token", expired},

		{callerBrowser, "missing CSRF token", expect{status: http.StatusSeeOther, location: "{pub}/ui/error?id={err}", errorID: "security_csrf_violation"}},
		{callerSPA, "missing CSRF token", expect{status: http.StatusForbidden, errorID: "security_csrf_violation"}},
	})
}
