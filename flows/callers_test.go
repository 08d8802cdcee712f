package flows

// The driver the per-flow tables (login_test.go, registration_test.go,
// settings_test.go, logout_test.go, whoami_test.go) share. Every row is one
// caller (browser, SPA, native API; docs/api.md, "Callers and content
// negotiation") times one outcome, named "<caller>/<outcome>". An outcome
// is a scenario: it arranges the store and the clock, makes the caller's
// requests and returns the answer to judge. The answer is then held to the
// row's expect: status, Location, error id, Set-Cookie, and the flow the
// user is shown next (the JSON flow, the replacement flow of a 410, or the
// flow a browser is sent to). The scenario's after then checks the store.

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
	"github.com/seed06f30684/caddy-kratos/schema"
)

const (
	drvHost     = "http://example.com"
	drvPub      = drvHost + DefaultPublicPrefix
	drvPassword = "a long and winding passphrase"
	// drvAccept is what a browser sends on a navigation or form post.
	drvAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	// drvNoCache is the Cache-Control of every public answer.
	drvNoCache = "private, no-cache, no-store, must-revalidate"
)

// callerKind is who makes the requests of a row.
type callerKind int

const (
	// callerBrowser posts forms (urlencoded) with the CSRF token and the
	// browser's cookies, and navigates with a browser's Accept.
	callerBrowser callerKind = iota
	// callerSPA is same-origin JavaScript: JSON bodies and Accept, the
	// browser's cookies and the CSRF token.
	callerSPA
	// callerAPI is a native app: the /api inits, JSON, X-Session-Token, no
	// cookies.
	callerAPI
)

func (k callerKind) String() string { return [...]string{"browser", "spa", "api"}[k] }

// flowEnv is one Service on a memory store and a clock the test moves.
type flowEnv struct {
	t     *testing.T
	s     *Service
	clock *testenv.Clock
	store identity.Store
}

// drvSchema is testenv.PersonSchema, compiled once for every row (a Schema
// is immutable and safe for concurrent use).
var drvSchema = sync.OnceValues(func() (*schema.Schema, error) {
	return schema.Compile("default", "test", []byte(testenv.PersonSchema))
})

// drvPasswordHash is drvPassword hashed at the cost newFlowEnv configures,
// once for every identity the rows store.
var drvPasswordHash = sync.OnceValues(func() (string, error) {
	return passwords.Hash(drvPassword, drvCost)
})

// drvCost is the bcrypt cost of the rows' Service: the lowest, for speed.
const drvCost = 4

func newFlowEnv(t *testing.T) *flowEnv {
	t.Helper()
	sch, err := drvSchema()
	if err != nil {
		t.Fatal(err)
	}
	clock := testenv.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	store := clock.Store()
	s, err := New(Config{
		Schema: sch, Store: store, Now: clock.Now,
		PasswordCost: drvCost, RevokeOtherSessionsOnPasswordChange: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &flowEnv{t: t, s: s, clock: clock, store: store}
}

// wrapStore rebuilds the Service on a store that wraps the current one;
// call it before anything is stored through the wrapper's methods.
func (e *flowEnv) wrapStore(wrap func(identity.Store) identity.Store) {
	e.t.Helper()
	cfg := e.s.Config()
	cfg.Store = wrap(e.store)
	s, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.s, e.store = s, cfg.Store
}

// addIdentity stores an active identity with this email, the name Ada
// Lovelace and the password drvPassword.
func (e *flowEnv) addIdentity(email string) *identity.Identity {
	e.t.Helper()
	id := e.s.NewIdentity(map[string]any{"email": email, "name": map[string]any{"first": "Ada", "last": "Lovelace"}})
	hash, err := drvPasswordHash()
	if err != nil {
		e.t.Fatal(err)
	}
	e.s.setPasswordHash(id, hash)
	if err := e.store.CreateIdentity(context.Background(), id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// addSession signs an identity in (now) and returns the session token.
func (e *flowEnv) addSession(id *identity.Identity) string {
	e.t.Helper()
	_, token, err := e.s.IssueSession(httptest.NewRequest(http.MethodGet, drvHost+"/", nil), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return token
}

// session is the usable session of a token, or nil.
func (e *flowEnv) session(token string) *identity.Session {
	e.t.Helper()
	sess, id, err := e.store.GetSession(context.Background(), token)
	if identity.IsNotFound(err) || (err == nil && !e.s.usable(sess, id)) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return sess
}

// sessionCount is how many usable sessions an identity has.
func (e *flowEnv) sessionCount(identityID string) int {
	e.t.Helper()
	all, err := e.store.ListSessions(context.Background(), identityID)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, s := range all {
		if s.IsActive(e.clock.Now()) {
			n++
		}
	}
	return n
}

// identity is the stored identity with this id.
func (e *flowEnv) identity(id string) *identity.Identity {
	e.t.Helper()
	got, err := e.store.GetIdentity(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// identityCount is how many identities the store holds.
func (e *flowEnv) identityCount() int {
	e.t.Helper()
	ids, _, err := e.store.ListIdentities(context.Background(), "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ids)
}

// identifierHolder is the id of the identity holding a login identifier,
// or "".
func (e *flowEnv) identifierHolder(identifier string) string {
	e.t.Helper()
	id, err := e.store.FindIdentityByIdentifier(context.Background(), identifier)
	if identity.IsNotFound(err) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return id.ID
}

// storedFlow reads a flow, as the UI (or a JSON caller's next fetch) sees it.
func (e *flowEnv) storedFlow(id string) *seenFlow {
	e.t.Helper()
	f, err := e.store.GetFlow(context.Background(), id)
	if err != nil {
		e.t.Fatalf("flow %s: %v", id, err)
	}
	return &seenFlow{ID: f.ID, Kind: f.Kind, Type: f.Type, State: f.State, UI: f.UI, Error: f.Error}
}

// client makes one caller's requests and keeps its cookies (browser and
// SPA) or its session token (API).
type client struct {
	e       *flowEnv
	kind    callerKind
	cookies map[string]string
	token   string // the API caller's X-Session-Token
	// prev is the jar as the last request sent it, before its answer's
	// Set-Cookie.
	prev map[string]string
}

func (e *flowEnv) newClient(kind callerKind) *client {
	return &client{e: e, kind: kind, cookies: map[string]string{}}
}

// signIn gives the caller a session: the session cookie for browsers and
// SPAs, X-Session-Token for the API.
func (c *client) signIn(token string) {
	if c.kind == callerAPI {
		c.token = token
		return
	}
	c.cookies[SessionCookie] = token
}

// signOut drops the caller's session credential, keeping its other cookies.
func (c *client) signOut() {
	c.token = ""
	delete(c.cookies, SessionCookie)
}

// sessionToken is the caller's session credential.
func (c *client) sessionToken() string {
	if c.kind == callerAPI {
		return c.token
	}
	return c.cookies[SessionCookie]
}

// do sends one request as the caller: the caller's Accept and credentials,
// then header (name, value pairs) over them. target is a path under the
// public prefix or an absolute URL on drvHost.
func (c *client) do(method, target, contentType, body string, header ...string) *answer {
	t := c.e.t
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if u.IsAbs() && u.Scheme+"://"+u.Host != drvHost {
		t.Fatalf("request to another site: %s", target)
	}
	rel, ok := strings.CutPrefix(u.Path, DefaultPublicPrefix)
	if !ok {
		t.Fatalf("request outside the public API: %s", target)
	}
	req := httptest.NewRequest(method, drvHost+u.RequestURI(), strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.kind == callerBrowser {
		req.Header.Set("Accept", drvAccept)
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if c.kind == callerAPI {
		if c.token != "" {
			req.Header.Set("X-Session-Token", c.token)
		}
	} else {
		for name, v := range c.cookies {
			req.AddCookie(&http.Cookie{Name: name, Value: v})
		}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	c.e.s.ServePublic(rec, req, rel)
	a := &answer{code: rec.Code, header: rec.Header(), setCookies: rec.Result().Cookies(), raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); strings.HasPrefix(ct, "application/json") && a.raw != "" {
		a.json = true
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, target, err, a.raw)
		}
	}
	c.prev = maps.Clone(c.cookies)
	if c.kind != callerAPI {
		for _, ck := range a.setCookies {
			if ck.MaxAge < 0 || ck.Value == "" {
				delete(c.cookies, ck.Name)
			} else {
				c.cookies[ck.Name] = ck.Value
			}
		}
	}
	return a
}

// begin starts a flow of kind (login, registration, settings) the caller's
// way, with query (e.g. "refresh=true"), and returns it.
func (c *client) begin(kind, query string) *seenFlow {
	t := c.e.t
	t.Helper()
	init := "/self-service/" + kind + "/browser"
	if c.kind == callerAPI {
		init = "/self-service/" + kind + "/api"
	}
	if query != "" {
		init += "?" + query
	}
	a := c.do(http.MethodGet, DefaultPublicPrefix+init, "", "")
	if c.kind == callerBrowser {
		if a.code != http.StatusSeeOther {
			t.Fatalf("GET %s: %d %s", init, a.code, a.raw)
		}
		return c.e.storedFlow(a.flowParam(t))
	}
	if a.code != http.StatusOK || a.body.UI.Action == "" {
		t.Fatalf("GET %s: %d %s", init, a.code, a.raw)
	}
	return &a.body.seenFlow
}

// submit posts fields to the flow's form action the caller's way: a form
// for browsers, JSON for SPAs and the API. Browsers and SPAs send the
// flow's CSRF token unless fields has csrf_token; an empty value leaves
// its field out.
func (c *client) submit(f *seenFlow, fields map[string]string, header ...string) *answer {
	c.e.t.Helper()
	values := map[string]string{}
	if c.kind != callerAPI {
		values["csrf_token"] = f.nodeValue("csrf_token")
	}
	for k, v := range fields {
		values[k] = v
	}
	for k, v := range values {
		if v == "" {
			delete(values, k)
		}
	}
	if c.kind == callerBrowser {
		form := url.Values{}
		for k, v := range values {
			form.Set(k, v)
		}
		return c.do(http.MethodPost, f.UI.Action, "application/x-www-form-urlencoded", form.Encode(), header...)
	}
	raw, err := json.Marshal(values)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return c.do(http.MethodPost, f.UI.Action, "application/json", string(raw), header...)
}

// seenFlow is a flow as a caller sees it: JSON or stored.
type seenFlow struct {
	ID    string          `json:"id"`
	Kind  string          `json:"-"`
	Type  string          `json:"type"`
	State string          `json:"state"`
	UI    identity.UI     `json:"ui"`
	Error json.RawMessage `json:"-"` // a stored error's envelope error
}

func (f *seenFlow) nodeValue(name string) string {
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == name {
			s, _ := n.Attributes.Value.(string)
			return s
		}
	}
	return ""
}

func (f *seenFlow) messageIDs() []int {
	var ids []int
	for _, m := range f.UI.Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

func (f *seenFlow) nodeMessageIDs(name string) []int {
	var ids []int
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == name {
			for _, m := range n.Messages {
				ids = append(ids, m.ID)
			}
		}
	}
	return ids
}

// answer is one response.
type answer struct {
	code       int
	header     http.Header
	setCookies []*http.Cookie
	raw        string
	json       bool
	body       answerBody
}

// answerBody is every JSON answer the tables look at: errors, flows,
// login results, sessions (whoami) and logout URLs.
type answerBody struct {
	seenFlow
	Error *struct {
		ID      string         `json:"id"`
		Code    int            `json:"code"`
		Reason  string         `json:"reason"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
	UseFlowID         string `json:"use_flow_id"`
	ExpiredAt         string `json:"expired_at"`
	Since             int64  `json:"since"`

	SessionToken string          `json:"session_token"`
	Session      *sessionJSON    `json:"session"`
	Identity     *identityJSON   `json:"identity"`
	Active       json.RawMessage `json:"active"` // a session's bool, a flow's method
	ContinueWith []struct {
		Action            string `json:"action"`
		RedirectBrowserTo string `json:"redirect_browser_to"`
	} `json:"continue_with"`

	LogoutURL   string `json:"logout_url"`
	LogoutToken string `json:"logout_token"`
}

type sessionJSON struct {
	ID       string        `json:"id"`
	Active   bool          `json:"active"`
	Identity *identityJSON `json:"identity"`
}

type identityJSON struct {
	ID     string         `json:"id"`
	Traits map[string]any `json:"traits"`
}

// location is the Location header.
func (a *answer) location() string { return a.header.Get("Location") }

// flowParam is the flow id in the Location's query.
func (a *answer) flowParam(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(a.location())
	if err != nil || u.Query().Get("flow") == "" {
		t.Fatalf("no ?flow= in Location %q", a.location())
	}
	return u.Query().Get("flow")
}

// cookie is the cookie the answer sets with this name (prefix), or nil.
func (a *answer) cookie(prefix string) *http.Cookie {
	for _, c := range a.setCookies {
		if strings.HasPrefix(c.Name, prefix) {
			return c
		}
	}
	return nil
}

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
			e := newFlowEnv(t)
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
	if a.code != w.status {
		t.Fatalf("status %d, want %d; Location %q\n%s", a.code, w.status, a.location(), a.raw)
	}
	if got := a.header.Get("Cache-Control"); got != drvNoCache {
		t.Errorf("Cache-Control %q, want %q", got, drvNoCache)
	}
	if !slices.Contains(a.header.Values("Vary"), "Cookie") {
		t.Errorf("Vary %q, want Cookie", a.header.Values("Vary"))
	}

	// Location, and the flow or error it leads to.
	var shown *seenFlow
	errorUI := false
	switch loc := a.location(); {
	case w.location == "" && loc != "":
		t.Errorf("Location %q, want none", loc)
	case w.location != "":
		want := strings.NewReplacer("{pub}", drvPub, "{host}", drvHost, "{flow}", sc.flowID).Replace(w.location)
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
	b := &a.body
	switch {
	case !a.json:
		if w.status != http.StatusNoContent && w.status/100 != 3 {
			t.Errorf("answer is not JSON: %s %q", a.header.Get("Content-Type"), a.raw)
		}
	case b.Error != nil:
		if b.Error.ID != w.errorID {
			t.Errorf("error.id %q, want %q (reason %q)", b.Error.ID, w.errorID, b.Error.Reason)
		}
		if got := a.header.Get("Ory-Error-Id"); got != w.errorID {
			t.Errorf("Ory-Error-Id %q, want %q", got, w.errorID)
		}
		if b.Error.Code != w.status {
			t.Errorf("error.code %d, want %d", b.Error.Code, w.status)
		}
		if w.reason != "" && !strings.Contains(b.Error.Reason, w.reason) {
			t.Errorf("error.reason %q, want it to contain %q", b.Error.Reason, w.reason)
		}
		if b.Error.ID == "self_service_flow_expired" && (b.UseFlowID == "" || b.ExpiredAt == "" || b.Since <= 0) {
			t.Errorf("an expired submit without use_flow_id, expired_at or since: %s", a.raw)
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
		t.Errorf("no error %q in the answer: %d %q", w.errorID, a.code, a.raw)
	}
	if w.status >= 400 && a.json && b.Error == nil && shown == nil {
		t.Errorf("status %d without an error or a flow: %s", a.code, a.raw)
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
		t.Errorf("session in the body: %v, want %v\n%s", isSession, w.session, a.raw)
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
	if c.kind == callerAPI && len(a.setCookies) > 0 {
		t.Errorf("an API caller got cookies: %v", a.header.Values("Set-Cookie"))
	}
	checkCookie(t, a, c, SessionCookie, w.sessionCookie)
	if ck := a.cookie(SessionCookie); ck != nil && ck.Value != "" {
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
	for _, ck := range a.setCookies {
		if ck.Name != SessionCookie && ck.Name != ContinuityCookie && !strings.HasPrefix(ck.Name, csrfCookiePrefix) {
			t.Errorf("unexpected cookie %s", ck.Name)
		}
	}
}

// expand replaces the placeholders {pub}, {host} and {flow}.
func expand(s string, sc *scene) string {
	return strings.NewReplacer("{pub}", drvPub, "{host}", drvHost, "{flow}", sc.flowID).Replace(s)
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
	ck := a.cookie(name)
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
