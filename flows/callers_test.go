package flows

// The tables of the per-flow tests (login_test.go, registration_test.go,
// settings_test.go, logout_test.go, whoami_test.go), run on flowEnv and
// client (env_test.go). Every row is one caller (browser, SPA, native API)
// times one outcome, named "<caller>/<outcome>". An outcome is a scenario:
// it arranges the store and the clock, makes the caller's requests and
// returns the answer to judge. The answer is then held to the row's
// expect: status, Location, error id, Set-Cookie, and the flow the user is
// shown next (the JSON flow, the replacement flow of a 410, or the flow a
// browser is sent to). The scenario's after then checks the store.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testNoCache is the Cache-Control of every public answer.
const testNoCache = "private, no-cache, no-store, must-revalidate"

// scene is what a scenario arranged, for the placeholders of expect and
// for its after check.
type scene struct {
	kind   string // the flow kind submitted
	flowID string // the flow submitted
	id     *identity.Identity
	token  string // id's session token, when it has one
	other  *identity.Identity
	extra  string // a second session token, when the scenario makes one
}

// scenario is one outcome: act arranges and makes the requests; after, when
// set, checks the store.
type scenario struct {
	act   func(e *flowEnv, c *client, sc *scene) *answer
	after func(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer)
}

// cookieWant is what an answer does to a cookie.
type cookieWant int

const (
	untouched cookieWant = iota // no Set-Cookie
	setNew                      // set, with a value the caller did not have
	setAgain                    // set, the same value as before
	cleared                     // cleared (empty, Max-Age=0)
)

func (w cookieWant) String() string {
	return [...]string{"untouched", "set to a new value", "set to the same value", "cleared"}[w]
}

// expect is what a row's caller sees. Locations may use placeholders:
// {pub} the public base URL, {host} the site, {flow} the submitted flow;
// at the end, {new} a new flow of the same kind and {err} an error stored
// for the error UI (whose id must be errorID).
type expect struct {
	status   int
	location string
	errorID  string // error.id of the JSON error or the error UI's error; "" none
	reason   string // a part of error.reason, when set

	// The flow shown next (JSON flow, use_flow_id, or the UI's ?flow=).
	state    string
	messages []int          // ui.messages ids, exactly
	nodeMsgs map[string]int // node name: a message id it must carry

	redirectTo   string // redirect_browser_to
	continueTo   string // continue_with's redirect_browser_to
	sessionToken bool   // session_token in the body
	session      bool   // session in the body (or the body is one: whoami)
	identity     bool   // identity in the body

	sessionCookie, csrfCookie, continuityCookie cookieWant
}

// row is one line of a table.
type row struct {
	caller  callerKind
	outcome string
	want    expect
}

// runRows runs each row in a fresh environment, in parallel.
func runRows(t *testing.T, scenarios map[string]scenario, rows []row) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		sc, ok := scenarios[r.outcome]
		if !ok {
			t.Fatalf("no scenario %q", r.outcome)
		}
		name := r.caller.String() + "/" + r.outcome
		if seen[name] {
			t.Fatalf("row %s twice", name)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newFlowEnv(t, func(c *Config) { c.RevokeOtherSessionsOnPasswordChange = true })
			c := e.newClient(r.caller)
			s := &scene{}
			a := sc.act(e, c, s)
			checkAnswer(t, e, c, s, a, r.want)
			if sc.after != nil {
				sc.after(t, e, c, s, a)
			}
		})
	}
}

// checkAnswer holds an answer to a row's expect.
func checkAnswer(t *testing.T, e *flowEnv, c *client, sc *scene, a *answer, w expect) {
	t.Helper()
	if a.Code != w.status {
		t.Fatalf("status %d, want %d; Location %q\n%s", a.Code, w.status, a.Location(), a.Body)
	}
	if got := a.Header().Get("Cache-Control"); got != testNoCache {
		t.Errorf("Cache-Control %q, want %q", got, testNoCache)
	}
	if !slices.Contains(a.Header().Values("Vary"), "Cookie") {
		t.Errorf("Vary %q, want Cookie", a.Header().Values("Vary"))
	}

	// Location, and the flow or error it leads to.
	var shown *seenFlow
	errorUI := false
	switch loc := a.Location(); {
	case w.location == "" && loc != "":
		t.Errorf("Location %q, want none", loc)
	case w.location != "":
		want := strings.NewReplacer("{pub}", testPub, "{host}", testHost, "{flow}", sc.flowID).Replace(w.location)
		switch {
		case strings.HasSuffix(want, "{new}"):
			id, ok := strings.CutPrefix(loc, strings.TrimSuffix(want, "{new}"))
			if !ok || !identity.WellFormedID(id) || id == sc.flowID {
				t.Fatalf("Location %q, want %s (a new flow, not %s)", loc, want, sc.flowID)
			}
			shown = e.storedFlow(id)
			if shown.Kind != sc.kind {
				t.Errorf("the new flow is a %s flow, want %s", shown.Kind, sc.kind)
			}
		case strings.HasSuffix(want, "{err}"):
			id, ok := strings.CutPrefix(loc, strings.TrimSuffix(want, "{err}"))
			if !ok || !identity.WellFormedID(id) {
				t.Fatalf("Location %q, want %s", loc, want)
			}
			errorUI = true
			checkStoredError(t, e, id, w)
		case loc != want:
			t.Fatalf("Location %q,\n        want %q", loc, want)
		default:
			if u, _ := url.Parse(loc); strings.HasPrefix(u.Path, DefaultPublicPrefix+"/ui/") && u.Query().Get("flow") != "" {
				shown = e.storedFlow(u.Query().Get("flow"))
			}
		}
	}

	// The JSON body.
	b := &a.doc
	switch {
	case !a.json:
		if w.status != http.StatusNoContent && w.status/100 != 3 {
			t.Errorf("answer is not JSON: %s %q", a.Header().Get("Content-Type"), a.Body)
		}
	case b.Error != nil:
		if b.Error.ID != w.errorID {
			t.Errorf("error.id %q, want %q (reason %q)", b.Error.ID, w.errorID, b.Error.Reason)
		}
		if got := a.Header().Get("Ory-Error-Id"); got != w.errorID {
			t.Errorf("Ory-Error-Id %q, want %q", got, w.errorID)
		}
		if b.Error.Code != w.status {
			t.Errorf("error.code %d, want %d", b.Error.Code, w.status)
		}
		if w.reason != "" && !strings.Contains(b.Error.Reason, w.reason) {
			t.Errorf("error.reason %q, want it to contain %q", b.Error.Reason, w.reason)
		}
		if b.Error.ID == "self_service_flow_expired" && (b.UseFlowID == "" || b.ExpiredAt == "" || b.Since <= 0) {
			t.Errorf("an expired submit without use_flow_id, expired_at or since: %s", a.Body)
		}
		if b.UseFlowID != "" {
			if b.UseFlowID == sc.flowID {
				t.Errorf("use_flow_id is the expired flow")
			}
			shown = e.storedFlow(b.UseFlowID)
			if shown.Kind != sc.kind {
				t.Errorf("use_flow_id is a %s flow, want %s", shown.Kind, sc.kind)
			}
		}
	case len(b.UI.Nodes) > 0:
		shown = &b.seenFlow
		if sc.flowID != "" && b.ID != sc.flowID {
			t.Errorf("answered flow %s, want the submitted %s", b.ID, sc.flowID)
		}
	}
	if w.errorID != "" && !errorUI && (!a.json || b.Error == nil) {
		t.Errorf("no error %q in the answer: %d %q", w.errorID, a.Code, a.Body)
	}
	if w.status >= 400 && a.json && b.Error == nil && shown == nil {
		t.Errorf("status %d without an error or a flow: %s", a.Code, a.Body)
	}
	if b.RedirectBrowserTo != expand(w.redirectTo, sc) {
		t.Errorf("redirect_browser_to %q, want %q", b.RedirectBrowserTo, expand(w.redirectTo, sc))
	}
	var continueTo string
	for _, cw := range b.ContinueWith {
		if cw.Action == "redirect_browser_to" {
			continueTo = cw.RedirectBrowserTo
		}
	}
	if continueTo != expand(w.continueTo, sc) {
		t.Errorf("continue_with redirect_browser_to %q, want %q", continueTo, expand(w.continueTo, sc))
	}
	if (b.SessionToken != "") != w.sessionToken {
		t.Errorf("session_token %q, want one: %v", b.SessionToken, w.sessionToken)
	}
	isSession := b.Session != nil || (a.json && b.Error == nil && len(b.UI.Nodes) == 0 && string(b.Active) == "true")
	if isSession != w.session {
		t.Errorf("session in the body: %v, want %v\n%s", isSession, w.session, a.Body)
	}
	if hasIdentity := b.Identity != nil && len(b.UI.Nodes) == 0 && string(b.Active) != "true"; hasIdentity != w.identity {
		t.Errorf("identity in the body: %v, want %v", hasIdentity, w.identity)
	}

	// The flow shown next.
	switch {
	case shown == nil && (w.state != "" || w.messages != nil || w.nodeMsgs != nil):
		t.Errorf("no flow shown; want state %q, messages %v", w.state, w.messages)
	case shown != nil:
		if w.state == "" {
			t.Errorf("the row does not say the state of the flow shown (%s)", shown.State)
		}
		if shown.State != w.state {
			t.Errorf("state %q, want %q", shown.State, w.state)
		}
		if got := shown.messageIDs(); !slices.Equal(got, w.messages) {
			t.Errorf("ui.messages %v, want %v", got, w.messages)
		}
		for name, id := range w.nodeMsgs {
			if got := shown.nodeMessageIDs(name); !slices.Contains(got, id) {
				t.Errorf("node %s has messages %v, want %d", name, got, id)
			}
		}
	}

	// Cookies.
	if c.kind == callerAPI && len(a.Result().Cookies()) > 0 {
		t.Errorf("an API caller got cookies: %v", a.Header().Values("Set-Cookie"))
	}
	checkCookie(t, a, c, SessionCookie, w.sessionCookie)
	if ck := a.Cookie(SessionCookie); ck != nil && ck.Value != "" {
		// The session cookie holds the token of a usable session, and lives
		// as long as the session.
		if sess := e.session(ck.Value); sess == nil {
			t.Errorf("the session cookie names no usable session")
		} else if !ck.Expires.Equal(sess.ExpiresAt) || ck.MaxAge != int(sess.ExpiresAt.Sub(e.clock.Now())/time.Second) {
			t.Errorf("session cookie expires %s (Max-Age %d), the session %s", ck.Expires, ck.MaxAge, sess.ExpiresAt)
		}
	}
	checkCookie(t, a, c, csrfCookiePrefix, w.csrfCookie)
	checkCookie(t, a, c, ContinuityCookie, w.continuityCookie)
	for _, ck := range a.Result().Cookies() {
		if ck.Name != SessionCookie && ck.Name != ContinuityCookie && !strings.HasPrefix(ck.Name, csrfCookiePrefix) {
			t.Errorf("unexpected cookie %s", ck.Name)
		}
	}
}

// expand replaces the placeholders {pub}, {host} and {flow}.
func expand(s string, sc *scene) string {
	return strings.NewReplacer("{pub}", testPub, "{host}", testHost, "{flow}", sc.flowID).Replace(s)
}

// checkStoredError checks the error the error UI shows (GET
// /self-service/errors?id=).
func checkStoredError(t *testing.T, e *flowEnv, id string, w expect) {
	t.Helper()
	f := e.storedFlow(id)
	if f.Kind != identity.KindError {
		t.Fatalf("the error UI's id %s is a %s flow", id, f.Kind)
	}
	var got struct {
		ID     string `json:"id"`
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(f.Error, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != w.errorID {
		t.Errorf("the error UI shows error.id %q, want %q (reason %q)", got.ID, w.errorID, got.Reason)
	}
	if w.reason != "" && !strings.Contains(got.Reason, w.reason) {
		t.Errorf("the error UI shows reason %q, want it to contain %q", got.Reason, w.reason)
	}
}

// checkCookie checks what an answer did to the cookie named name (a prefix
// for the CSRF cookie), against the value the request sent.
func checkCookie(t *testing.T, a *answer, c *client, name string, w cookieWant) {
	t.Helper()
	ck := a.Cookie(name)
	var got cookieWant
	switch {
	case ck == nil:
		got = untouched
	case ck.Value == "" || ck.MaxAge < 0:
		got = cleared
	case ck.Value == sentCookie(c.prev, name):
		got = setAgain
	default:
		got = setNew
	}
	if got != w {
		t.Errorf("cookie %s: %s, want %s", name, got, w)
	}
	if ck != nil && (!ck.HttpOnly || ck.Path != "/" || ck.SameSite != http.SameSiteLaxMode) {
		t.Errorf("cookie %s attributes %+v", ck.Name, ck)
	}
}

// sentCookie is the value of the cookie named name (a prefix) in jar.
func sentCookie(jar map[string]string, name string) string {
	for n, v := range jar {
		if strings.HasPrefix(n, name) {
			return v
		}
	}
	return ""
}
