package caddymodule

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/storelog"
	"github.com/seed06f30684/caddy-kratos/memstore"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// lookupStore counts session lookups and can fail them.
type lookupStore struct {
	identity.Store
	lookups atomic.Int32
	fail    error
}

func (s *lookupStore) GetSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	s.lookups.Add(1)
	if s.fail != nil {
		return nil, nil, s.fail
	}
	return s.Store.GetSession(ctx, token)
}

// ViewSession is counted and fails as GetSession.
func (s *lookupStore) ViewSession(ctx context.Context, token string) (*identity.Session, *identity.Identity, error) {
	return s.GetSession(ctx, token)
}

// passHandler is a public-mode handler on store, built without the pool;
// poolKey stands for the pool entry (handlers with equal keys share a
// request's session lookup).
func passHandler(t *testing.T, store identity.Store, logger *zap.Logger, configure func(*Handler)) *Handler {
	t.Helper()
	sch, err := schema.CompileFile("default", writeSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := flows.New(flows.Config{Schema: sch, Store: store, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{PublicPrefix: flows.DefaultPublicPrefix, logger: logger, storeLog: storelog.Sampled(logger), svc: svc, store: store, poolKey: "test-store"}
	if configure != nil {
		configure(h)
	}
	return h
}

var testTraits = map[string]any{
	"email": "alice@example.com",
	"name":  map[string]any{"first": "Alice", "last": "Liddell"},
	"tags":  []any{"x", "y"},
	"age":   json.Number("42"),
	"admin": false,
}

// signIn stores an identity with testTraits and a session for it, and
// returns the session token.
func signIn(t *testing.T, store identity.Store, authenticatedAgo time.Duration) (string, *identity.Identity, *identity.Session) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	id := &identity.Identity{
		ID: identity.NewID(), SchemaID: "default", State: identity.IdentityActive, StateChangedAt: now,
		Traits: testTraits, CreatedAt: now, UpdatedAt: now,
	}
	if err := store.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	token := identity.NewSessionToken(id.ID)
	sess := &identity.Session{
		ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), Active: true,
		IssuedAt: now, AuthenticatedAt: now.Add(-authenticatedAgo), ExpiresAt: now.Add(time.Hour), AAL: identity.AAL1,
	}
	if err := store.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	return token, id, sess
}

// passRequest is a request with a replacer in its context, and headers as
// name, value pairs.
func passRequest(method, target string, header ...string) (*http.Request, *caddy.Replacer) {
	r := httptest.NewRequest(method, target, nil)
	repl := caddy.NewReplacer()
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r, repl
}

// run serves r through the handlers in a chain ending in a handler that
// records the request it gets (nil when the chain stopped before it).
func run(t *testing.T, r *http.Request, handlers ...*Handler) (*httptest.ResponseRecorder, *http.Request) {
	t.Helper()
	var seen *http.Request
	var next caddyhttp.Handler = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		seen = r
		return nil
	})
	for i := len(handlers) - 1; i >= 0; i-- {
		h, n := handlers[i], next
		next = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return h.ServeHTTP(w, r, n) })
	}
	rec := httptest.NewRecorder()
	if err := next.ServeHTTP(rec, r); err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	return rec, seen
}

var forged = []string{
	HeaderIdentityID, "forged-identity",
	HeaderSessionID, "forged-session",
	HeaderTraits, base64.RawURLEncoding.EncodeToString([]byte(`{"email":"root@example.com"}`)),
	// Look-alikes that CGI and FastCGI turn into the same variable.
	"X_Kratos_Authenticated_Identity_Id", "forged-identity",
	"x_kratos_session_id", "forged-session",
	"X-Kratos_Identity-Traits", "e30",
}

// lookAlikes lists the headers of h that a CGI-style app would read as one
// of ours.
func lookAlikes(h http.Header) []string {
	var found []string
	for name := range h {
		for _, ours := range identityHeaders {
			if strings.EqualFold(strings.ReplaceAll(name, "_", "-"), ours) {
				found = append(found, name+": "+strings.Join(h[name], ","))
			}
		}
	}
	return found
}

// placeholder is the value of {key} on repl, as header_up would send it.
func placeholder(repl *caddy.Replacer, key string) string {
	return repl.ReplaceKnown("{"+key+"}", "")
}

func TestPassThroughStripsForgedHeadersWithoutSession(t *testing.T) {
	store := &lookupStore{Store: memstore.New()}
	h := passHandler(t, store, zap.NewNop(), func(h *Handler) { h.IdentityHeaders = true })
	for _, cookie := range []string{"", "ory_kratos_session=not-a-token"} {
		header := append([]string{"X-Other", "kept"}, forged...)
		if cookie != "" {
			header = append(header, "Cookie", cookie)
		}
		r, repl := passRequest(http.MethodGet, "/app", header...)
		rec, seen := run(t, r, h)
		if seen == nil {
			t.Fatalf("cookie %q: next not called (%d)", cookie, rec.Code)
		}
		if got := lookAlikes(seen.Header); len(got) != 0 {
			t.Errorf("cookie %q: the app got %q", cookie, got)
		}
		if seen.Header.Get("X-Other") != "kept" {
			t.Error("another header was removed")
		}
		for _, key := range []string{PlaceholderUserID, PlaceholderIdentityID, PlaceholderSessionID, PlaceholderTraits, PlaceholderTraits + ".email"} {
			if got := placeholder(repl, key); got != "" {
				t.Errorf("cookie %q: {%s} = %q without a session, want empty", cookie, key, got)
			}
		}
		if got := placeholder(repl, PlaceholderPrivileged); got != "false" {
			t.Errorf("{%s} = %q without a session", PlaceholderPrivileged, got)
		}
	}
	if n := store.lookups.Load(); n != 0 {
		t.Errorf("%d store lookups for requests without a well-formed token, want 0", n)
	}
}

func TestPassThroughSessionHeadersAndPlaceholders(t *testing.T) {
	store := &lookupStore{Store: memstore.New()}
	h := passHandler(t, store, zap.NewNop(), func(h *Handler) { h.IdentityHeaders = true })
	token, id, sess := signIn(t, store, time.Minute)

	for name, auth := range map[string][]string{
		"cookie":        {"Cookie", flows.SessionCookie + "=" + token},
		"session token": {"X-Session-Token", token},
		"bearer":        {"Authorization", "Bearer " + token},
	} {
		t.Run(name, func(t *testing.T) {
			r, repl := passRequest(http.MethodGet, "/app?x=1", append(auth, forged...)...)
			_, seen := run(t, r, h)
			if seen == nil {
				t.Fatal("next not called")
			}
			if got := lookAlikes(seen.Header); len(got) != 3 {
				t.Errorf("the app got %q, want only our three headers", got)
			}
			if got := seen.Header.Values(HeaderIdentityID); len(got) != 1 || got[0] != id.ID {
				t.Errorf("%s = %q, want [%s]", HeaderIdentityID, got, id.ID)
			}
			if got := seen.Header.Values(HeaderSessionID); len(got) != 1 || got[0] != sess.ID {
				t.Errorf("%s = %q, want [%s]", HeaderSessionID, got, sess.ID)
			}
			raw, err := base64.RawURLEncoding.DecodeString(seen.Header.Get(HeaderTraits))
			if err != nil {
				t.Fatalf("%s is not base64url without padding: %v", HeaderTraits, err)
			}
			var traits map[string]any
			if err := json.Unmarshal(raw, &traits); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"email": "alice@example.com", "name": map[string]any{"first": "Alice", "last": "Liddell"},
				"tags": []any{"x", "y"}, "age": 42.0, "admin": false}
			if !reflect.DeepEqual(traits, want) {
				t.Errorf("traits header %s, want %v", raw, want)
			}

			for key, want := range map[string]string{
				PlaceholderUserID:                 id.ID,
				PlaceholderIdentityID:             id.ID,
				PlaceholderSessionID:              sess.ID,
				PlaceholderPrivileged:             "true",
				PlaceholderTraits:                 string(raw),
				PlaceholderTraits + ".email":      "alice@example.com",
				PlaceholderTraits + ".name.first": "Alice",
				PlaceholderTraits + ".name":       `{"first":"Alice","last":"Liddell"}`,
				PlaceholderTraits + ".tags":       `["x","y"]`,
				PlaceholderTraits + ".tags.1":     "y",
				PlaceholderTraits + ".age":        "42",
				PlaceholderTraits + ".admin":      "false",
				PlaceholderTraits + ".missing":    "",
				PlaceholderTraits + ".tags.7":     "",
				PlaceholderTraits + ".email.x":    "",
			} {
				if got := placeholder(repl, key); got != want {
					t.Errorf("{%s} = %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestPassThroughPrivilegedPlaceholder(t *testing.T) {
	store := memstore.New()
	h := passHandler(t, store, zap.NewNop(), nil)
	token, _, _ := signIn(t, store, time.Hour) // older than the default 15m
	r, repl := passRequest(http.MethodGet, "/", "X-Session-Token", token)
	run(t, r, h)
	if got := placeholder(repl, PlaceholderPrivileged); got != "false" {
		t.Errorf("{%s} = %q for a session signed in an hour ago", PlaceholderPrivileged, got)
	}
	if got := placeholder(repl, PlaceholderUserID); got == "" {
		t.Error("no user id for a valid, unprivileged session")
	}
}

func TestPassThroughWithoutIdentityHeadersLeavesHeaders(t *testing.T) {
	store := memstore.New()
	h := passHandler(t, store, zap.NewNop(), nil)
	token, id, _ := signIn(t, store, 0)
	r, repl := passRequest(http.MethodGet, "/", append([]string{"X-Session-Token", token}, forged...)...)
	_, seen := run(t, r, h)
	if seen.Header.Get(HeaderIdentityID) != "forged-identity" {
		t.Error("without identity_headers the request's headers changed")
	}
	if got := placeholder(repl, PlaceholderIdentityID); got != id.ID {
		t.Errorf("placeholders are set with or without identity_headers; got %q", got)
	}
}

func TestPassThroughInactiveSessions(t *testing.T) {
	store := &lookupStore{Store: memstore.New()}
	h := passHandler(t, store, zap.NewNop(), func(h *Handler) { h.IdentityHeaders = true })
	token, id, sess := signIn(t, store, 0)
	sess.Active = false
	if err := store.UpdateSession(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	unknown := identity.NewSessionToken(id.ID)
	for _, tok := range []string{token, unknown} {
		r, repl := passRequest(http.MethodGet, "/", "X-Session-Token", tok)
		_, seen := run(t, r, h)
		if seen == nil || seen.Header.Get(HeaderIdentityID) != "" || placeholder(repl, PlaceholderUserID) != "" {
			t.Errorf("an inactive or unknown session reached the app as signed in")
		}
	}
	if n := store.lookups.Load(); n != 2 {
		t.Errorf("%d lookups for two well-formed tokens", n)
	}
}

func TestPassThroughStoreDown(t *testing.T) {
	store := &lookupStore{Store: memstore.New(), fail: errors.New("dial tcp 10.0.0.1:6379: connection refused")}
	core, logs := observer.New(zapcore.DebugLevel)
	h := passHandler(t, store, zap.New(core), func(h *Handler) { h.IdentityHeaders = true })
	token := identity.NewSessionToken(identity.NewID())
	r, repl := passRequest(http.MethodGet, "/app", append([]string{"Cookie", flows.SessionCookie + "=" + token}, forged...)...)
	rec, seen := run(t, r, h)
	if seen == nil {
		t.Fatalf("store down: next not called; got %d %s", rec.Code, rec.Body)
	}
	for range 20 { // an outage: the warning is not repeated per request
		more, _ := passRequest(http.MethodGet, "/app", "X-Session-Token", token)
		if _, seen := run(t, more, h); seen == nil {
			t.Fatal("store down: next not called")
		}
	}
	for _, name := range identityHeaders {
		if v := seen.Header.Get(name); v != "" {
			t.Errorf("store down: the app got %s: %q", name, v)
		}
	}
	if got := placeholder(repl, PlaceholderUserID); got != "" {
		t.Errorf("store down: user id %q", got)
	}
	warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
	if len(warns) != 1 {
		t.Fatalf("%d warnings logged, want 1: %v", len(warns), logs.All())
	}
	for _, e := range logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		if strings.Contains(e.Message+string(b), token) || strings.Contains(string(b), "alice") {
			t.Errorf("log entry holds the token or traits: %s %s", e.Message, b)
		}
	}
}

func TestRequireSession(t *testing.T) {
	store := &lookupStore{Store: memstore.New()}
	h := passHandler(t, store, zap.NewNop(), func(h *Handler) { h.RequireSession, h.IdentityHeaders = true, true })
	token, id, _ := signIn(t, store, 0)

	// A browser without a session goes to the login flow, and comes back to
	// the page the client asked for, even after a rewrite.
	r, _ := passRequest(http.MethodGet, "http://app.example.com/internal/rewritten", "Accept", "text/html")
	orig, _ := url.Parse("http://app.example.com/account/billing?tab=2")
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, http.Request{URL: orig}))
	rec, seen := run(t, r, h)
	if seen != nil || rec.Code != http.StatusSeeOther {
		t.Fatalf("browser without session: next called %v, status %d", seen != nil, rec.Code)
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if loc.Path != flows.DefaultPublicPrefix+"/self-service/login/browser" || loc.Host != "app.example.com" {
		t.Errorf("Location %s", loc)
	}
	if got := loc.Query().Get("return_to"); got != "http://app.example.com/account/billing?tab=2" {
		t.Errorf("return_to %q", got)
	}

	// A JSON caller gets 401 session_inactive.
	r, _ = passRequest(http.MethodGet, "/account", "Accept", "application/json")
	rec, seen = run(t, r, h)
	if seen != nil || rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"session_inactive"`) {
		t.Errorf("JSON caller: next called %v, %d %s", seen != nil, rec.Code, rec.Body)
	}

	// A CORS preflight goes through, without identity.
	r, _ = passRequest(http.MethodOptions, "/account", "Origin", "https://spa.example.com", "Access-Control-Request-Method", "POST")
	if _, seen = run(t, r, h); seen == nil {
		t.Error("a CORS preflight was refused")
	}

	// With a session the request goes on, with its identity.
	r, _ = passRequest(http.MethodGet, "/account", "Cookie", flows.SessionCookie+"="+token)
	if _, seen = run(t, r, h); seen == nil || seen.Header.Get(HeaderIdentityID) != id.ID {
		t.Error("a request with a session did not reach the app with its identity")
	}

	// The public API stays reachable: that is where the login happens.
	r, _ = passRequest(http.MethodGet, flows.DefaultPublicPrefix+"/self-service/login/browser")
	if rec, _ = run(t, r, h); rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "/ui/login") {
		t.Errorf("login flow under require_session: %d %s", rec.Code, rec.Header().Get("Location"))
	}

	// Store down: 503, whoever asks.
	store.fail = errors.New("connection refused")
	for _, accept := range []string{"text/html", "application/json"} {
		r, _ = passRequest(http.MethodGet, "/account", "Accept", accept, "Cookie", flows.SessionCookie+"="+token)
		rec, seen = run(t, r, h)
		if seen != nil || rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":503`) {
			t.Errorf("store down, Accept %s: next called %v, %d %s", accept, seen != nil, rec.Code, rec.Body)
		}
	}
}

func TestTwoHandlersShareOneLookup(t *testing.T) {
	store := &lookupStore{Store: memstore.New()}
	site := passHandler(t, store, zap.NewNop(), func(h *Handler) { h.IdentityHeaders = true })
	account := passHandler(t, store, zap.NewNop(), func(h *Handler) { h.RequireSession, h.IdentityHeaders = true, true })
	token, id, _ := signIn(t, store, 0)

	r, repl := passRequest(http.MethodGet, "/account", append([]string{"X-Session-Token", token}, forged...)...)
	_, seen := run(t, r, account, site)
	if seen == nil || seen.Header.Get(HeaderIdentityID) != id.ID || len(seen.Header.Values(HeaderIdentityID)) != 1 {
		t.Fatalf("the app got %v", seen)
	}
	if placeholder(repl, PlaceholderTraits+".name.first") != "Alice" {
		t.Error("traits placeholder lost with two handlers")
	}
	if n := store.lookups.Load(); n != 1 {
		t.Errorf("%d store lookups for one request through two handlers on one store, want 1", n)
	}

	// Handlers on different stores each look the session up.
	other := passHandler(t, store, zap.NewNop(), func(h *Handler) { h.poolKey = "another-store" })
	r, _ = passRequest(http.MethodGet, "/account", "X-Session-Token", token)
	run(t, r, site, other)
	if n := store.lookups.Load(); n != 3 {
		t.Errorf("%d lookups in all, want 3", n)
	}
}

func TestPassThroughWithoutReplacer(t *testing.T) {
	store := memstore.New()
	h := passHandler(t, store, zap.NewNop(), func(h *Handler) { h.IdentityHeaders = true })
	token, id, _ := signIn(t, store, 0)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Session-Token", token)
	if _, seen := run(t, r, h); seen == nil || seen.Header.Get(HeaderIdentityID) != id.ID {
		t.Error("without a replacer in the context the headers are still set")
	}
}

func TestHeaderSafe(t *testing.T) {
	for in, want := range map[string]string{
		"Alice":               "Alice",
		"":                    "",
		"Ada\r\nX-Evil: 1":    "Ada  X-Evil: 1",
		"tab\tstays":          "tab\tstays",
		"nul\x00del\x7f":      "nul del ",
		"ünïcödé \u2028 kept": "ünïcödé \u2028 kept",
	} {
		if got := headerSafe(in); got != want {
			t.Errorf("headerSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
