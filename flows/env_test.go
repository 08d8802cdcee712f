package flows

// The package's one test environment: flowEnv is a Service on a memory
// store, both on a clock the test moves, and client is one caller of its
// public API (docs/api.md, "Callers and content negotiation"): a browser,
// a same-origin SPA or a native app. Every test here drives the Service
// through them.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
)

const (
	testHost     = "http://example.com"
	testPub      = testHost + DefaultPublicPrefix
	testPassword = "a long and winding passphrase"
	// testCost is the bcrypt cost of the tests' Service: the lowest, for
	// speed.
	testCost = 4
	// testAccept is what a browser sends on a navigation or form post.
	testAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
)

// flowEnv is one Service on a memory store and a clock the test moves.
type flowEnv struct {
	t     *testing.T
	s     *Service
	clock *testenv.Clock
	store identity.Store
}

// newFlowEnv makes a Service with testenv.PersonSchema and the bcrypt cost
// testCost; configure changes its Config first (Store may wrap the memory
// store).
func newFlowEnv(t *testing.T, configure ...func(*Config)) *flowEnv {
	t.Helper()
	clock := testenv.NewClock(testenv.Start)
	cfg := Config{Schema: testenv.Schema(testenv.PersonSchema), Store: clock.Store(), Now: clock.Now, PasswordCost: testCost}
	for _, c := range configure {
		c(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &flowEnv{t: t, s: s, clock: clock, store: cfg.Store}
}

// withSchema swaps testenv.PersonSchema for another schema.
func withSchema(schemaJSON string) func(*Config) {
	return func(c *Config) { c.Schema = testenv.Schema(schemaJSON) }
}

// publicURL sets the public URL, when u is not "".
func publicURL(u string) func(*Config) {
	return func(c *Config) {
		if u != "" {
			c.PublicURL, _ = url.Parse(u)
		}
	}
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

// testPasswordHash is testPassword hashed at testCost, once for every
// identity the tests store.
var testPasswordHash = sync.OnceValues(func() (string, error) {
	return passwords.Hash(testPassword, testCost)
})

// addIdentity stores an active identity with this email, the name Ada
// Lovelace and the password testPassword.
func (e *flowEnv) addIdentity(email string) *identity.Identity {
	e.t.Helper()
	id := e.s.NewIdentity(map[string]any{"email": email, "name": map[string]any{"first": "Ada", "last": "Lovelace"}})
	hash, err := testPasswordHash()
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
	_, token, err := e.s.IssueSession(httptest.NewRequest(http.MethodGet, testHost+"/", nil), id)
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

// holder is the stored identity holding a login identifier.
func (e *flowEnv) holder(identifier string) *identity.Identity {
	e.t.Helper()
	return e.identity(e.identifierHolder(identifier))
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
	e.s.withForm(f) // a new flow is stored without its form
	return &seenFlow{ID: f.ID, Kind: f.Kind, Type: f.Type, State: f.State, UI: f.UI, Error: f.Error}
}

// callerKind is who makes the requests.
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

// client makes one caller's requests and keeps its cookies (browser and
// SPA) or its session token (API).
type client struct {
	e       *flowEnv
	kind    callerKind
	site    string // the origin requested: testHost unless a test sets another
	cookies map[string]string
	token   string // the API caller's X-Session-Token
	// prev is the jar as the last request sent it, before its answer's
	// Set-Cookie.
	prev map[string]string
	// lang is the Accept-Language the caller sends; "" sends none.
	lang string
}

func (e *flowEnv) newClient(kind callerKind) *client {
	return &client{e: e, kind: kind, site: testHost, cookies: map[string]string{}}
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

// csrfReal is the token in the caller's CSRF cookie.
func (c *client) csrfReal() []byte {
	for name, v := range c.cookies {
		if strings.HasPrefix(name, csrfCookiePrefix) {
			real, _ := base64.StdEncoding.DecodeString(v)
			return real
		}
	}
	return nil
}

// do sends one request as the caller: the caller's Accept and credentials,
// then header (name, value pairs; an empty value removes one) over them.
// target is a path under the public prefix or an absolute URL on c.site.
func (c *client) do(method, target, contentType, body string, header ...string) *answer {
	t := c.e.t
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if u.IsAbs() && u.Scheme+"://"+u.Host != c.site {
		t.Fatalf("request to another site: %s", target)
	}
	rel, ok := strings.CutPrefix(u.Path, DefaultPublicPrefix)
	if !ok {
		t.Fatalf("request outside the public API: %s", target)
	}
	h := []string{"Content-Type", contentType, "Accept", testAccept}
	if c.kind != callerBrowser {
		h[3] = "application/json"
	}
	if c.kind == callerAPI {
		h = append(h, "X-Session-Token", c.token)
	}
	if c.lang != "" {
		h = append(h, "Accept-Language", c.lang)
	}
	req := testenv.Request(method, c.site+u.RequestURI(), body, append(h, header...)...)
	if c.kind != callerAPI {
		for name, v := range c.cookies {
			req.AddCookie(&http.Cookie{Name: name, Value: v})
		}
	}
	a := &answer{Response: testenv.Record(req, func(w http.ResponseWriter, r *http.Request) { c.e.s.ServePublic(w, r, rel) })}
	if strings.HasPrefix(a.Header().Get("Content-Type"), "application/json") && a.Body.Len() > 0 {
		a.json = true
		// A list (GET /sessions) is read by its test.
		if err := json.Unmarshal(a.Body.Bytes(), &a.doc); err != nil && a.Body.Bytes()[0] != '[' {
			t.Fatalf("%s %s: %v\n%s", method, target, err, a.Body)
		}
	}
	c.prev = maps.Clone(c.cookies)
	if c.kind != callerAPI {
		for _, ck := range a.Result().Cookies() {
			if ck.MaxAge < 0 || ck.Value == "" {
				delete(c.cookies, ck.Name)
			} else {
				c.cookies[ck.Name] = ck.Value
			}
		}
	}
	return a
}

// get GETs target (see do).
func (c *client) get(target string, header ...string) *answer {
	c.e.t.Helper()
	return c.do(http.MethodGet, target, "", "", header...)
}

// post posts a form to target.
func (c *client) post(target string, form url.Values) *answer {
	c.e.t.Helper()
	return c.do(http.MethodPost, target, "application/x-www-form-urlencoded", form.Encode())
}

// follow GETs target and follows redirects while they stay in the public
// API; it returns the last answer and its URL.
func (c *client) follow(target string) (*answer, string) {
	c.e.t.Helper()
	return c.followFrom(c.get(target), target)
}

func (c *client) followFrom(a *answer, at string) (*answer, string) {
	c.e.t.Helper()
	for range 10 {
		loc := a.Location()
		if a.Code < 300 || a.Code > 399 || !strings.HasPrefix(loc, c.site+DefaultPublicPrefix+"/") {
			return a, at
		}
		at = loc
		a = c.get(loc)
	}
	c.e.t.Fatalf("too many redirects, at %s", at)
	return nil, ""
}

// open follows target to a page (200) whose URL contains landing.
func (c *client) open(target, landing string) (*answer, string) {
	c.e.t.Helper()
	a, at := c.follow(target)
	if a.Code != http.StatusOK || !strings.Contains(at, landing) {
		c.e.t.Fatalf("%s: %d at %s, want a page at %s", target, a.Code, at, landing)
	}
	return a, at
}

// submitForm posts a form of an HTML page as a browser does (its hidden
// inputs and enabled fields, changed by set, and the named button) and
// follows the redirects.
func (c *client) submitForm(page, formID, button string, set url.Values) (*answer, string) {
	c.e.t.Helper()
	action, values := formOf(c.e.t, page, formID, button)
	maps.Copy(values, set)
	return c.followFrom(c.post(action, values), action)
}

// register signs a new identity up through the built-in registration page;
// the browser ends signed in.
func (c *client) register(email, first, last string) {
	t := c.e.t
	t.Helper()
	a, _ := c.open(DefaultPublicPrefix+"/self-service/registration/browser", siteurl.RegistrationPath)
	a, at := c.submitForm(a.Body.String(), "registration", "method", url.Values{
		"traits.email": {email}, "traits.name.first": {first}, "traits.name.last": {last}, "password": {testPassword},
	})
	if a.Code != http.StatusSeeOther || a.Location() != testHost+"/" {
		t.Fatalf("registration: %d at %s to %q\n%s", a.Code, at, a.Location(), a.Body)
	}
	if c.cookies[SessionCookie] == "" {
		t.Fatal("no session cookie after registration")
	}
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
	a := c.get(DefaultPublicPrefix + init)
	if c.kind == callerBrowser {
		if a.Code != http.StatusSeeOther {
			t.Fatalf("GET %s: %d %s", init, a.Code, a.Body)
		}
		// As the UI shows it: the cookie's CSRF token, masked afresh.
		f := c.e.storedFlow(flowParam(t, a.Location(), "flow"))
		form.SetCSRF(&f.UI, csrf.Mask(c.csrfReal()))
		return f
	}
	if a.Code != http.StatusOK || a.doc.UI.Action == "" {
		t.Fatalf("GET %s: %d %s", init, a.Code, a.Body)
	}
	return &a.doc.seenFlow
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
	maps.Copy(values, fields)
	maps.DeleteFunc(values, func(_, v string) bool { return v == "" })
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

// flowParam is the query parameter key of the URL at.
func flowParam(t *testing.T, at, key string) string {
	t.Helper()
	u, err := url.Parse(at)
	if err != nil || u.Query().Get(key) == "" {
		t.Fatalf("no %s in %q", key, at)
	}
	return u.Query().Get(key)
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

// answer is one response; doc is its JSON, when json.
type answer struct {
	*testenv.Response
	json bool
	doc  answerDoc
}

// answerDoc is every JSON answer the tests look at: errors, flows, login
// results, sessions (whoami) and logout URLs.
type answerDoc struct {
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
		Flow              struct {
			ID                string `json:"id"`
			VerifiableAddress string `json:"verifiable_address"`
			URL               string `json:"url"`
		} `json:"flow"`
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
