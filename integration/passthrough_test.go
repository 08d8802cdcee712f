package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// appRecorder is the upstream app: it answers 200 and remembers the
// headers of every request it got, by path.
type appRecorder struct {
	mu   sync.Mutex
	seen map[string][]http.Header
}

func (a *appRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.seen[r.URL.Path] = append(a.seen[r.URL.Path], r.Header.Clone())
	a.mu.Unlock()
	_, _ = w.Write([]byte("app"))
}

// last is the headers of the last request the app got for path; nil when
// it got none.
func (a *appRecorder) last(path string) http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.seen[path]; len(s) > 0 {
		return s[len(s)-1]
	}
	return nil
}

func (a *appRecorder) count(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen[path])
}

// startAppRecorder starts an appRecorder on a loopback port, closed when
// the test ends, and returns it with its host:port.
func startAppRecorder(t *testing.T) (*appRecorder, string) {
	app := &appRecorder{seen: make(map[string][]http.Header)}
	upstream := httptest.NewServer(app)
	t.Cleanup(upstream.Close)
	return app, strings.TrimPrefix(upstream.URL, "http://")
}

// seedSchemaFile writes the seed identity schema to a file of the test and
// returns its path.
func seedSchemaFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "identity.schema.json")
	if err := os.WriteFile(path, []byte(seedSchema), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// appSite is a running Caddy whose public site has the recommended pair of
// kratos handlers (identity_headers everywhere, require_session on
// /account/*) in front of a recording app, an admin site, and a metrics
// endpoint.
type appSite struct {
	*site
	app     *appRecorder
	metrics string // the metrics endpoint's URL
}

func startAppSite(t *testing.T) *appSite {
	t.Helper()
	return startAppSiteOn(t, redistest.StartServer(t))
}

// startAppSiteOn is startAppSite on the redis-server at redisAddr.
func startAppSiteOn(t *testing.T, redisAddr string) *appSite {
	t.Helper()
	schemaPath := seedSchemaFile(t)
	app, upstream := startAppRecorder(t)

	pub, adm, met := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`{
	admin off
	auto_https off
	grace_period 1ns
}
(kratos_common) {
	identity_schema %s
	store redis {
		urls redis://%s/0
		key_prefix pt%d
	}
}
http://127.0.0.1:%d {
	kratos {
		import kratos_common
		identity_headers
	}
	kratos /account/* {
		import kratos_common
		identity_headers
		require_session
	}
	reverse_proxy %s {
		header_up X-User {http.auth.user.id}
		header_up X-User-First {http.kratos.identity.traits.name.first}
		header_up X-Session {http.kratos.session.id}
		header_up X-Privileged {http.kratos.session.privileged}
	}
}
http://127.0.0.1:%d {
	kratos {
		import kratos_common
		admin
	}
}
http://127.0.0.1:%d {
	metrics
}
`, schemaPath, redisAddr, time.Now().UnixNano(), pub, upstream, adm, met)
	js, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		t.Fatalf("adapt: %v\n%s", err, cfg)
	}
	for _, w := range warnings {
		t.Logf("caddyfile warning: %s", w.Message)
	}
	if err := caddy.Load(js, true); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return &appSite{
		site:    &site{t: t, public: fmt.Sprintf("http://127.0.0.1:%d", pub), admin: fmt.Sprintf("http://127.0.0.1:%d", adm)},
		app:     app,
		metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", met),
	}
}

var forgedIdentity = []string{
	"X-Kratos-Authenticated-Identity-Id", "11111111-1111-4111-8111-111111111111",
	"X-Kratos-Session-Id", "22222222-2222-4222-8222-222222222222",
	"X-Kratos-Identity-Traits", base64.RawURLEncoding.EncodeToString([]byte(`{"email":"root@example.com"}`)),
	"X-User", "root",
	// A look-alike that CGI and FastCGI apps read as the identity id.
	"X_Kratos_Authenticated_Identity_Id", "11111111-1111-4111-8111-111111111111",
}

// identityOf reads what the app got: identity id, session id, traits.
func identityOf(t *testing.T, h http.Header) (id, session string, traits map[string]any) {
	t.Helper()
	if n := len(h.Values("X-Kratos-Authenticated-Identity-Id")); n > 1 {
		t.Errorf("the app got %d identity id headers", n)
	}
	for name, v := range h {
		if name != http.CanonicalHeaderKey(name) || strings.Contains(name, "_") {
			if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(name, "_", "-")), "x-kratos-") {
				t.Errorf("the app got the look-alike %s: %q", name, v)
			}
		}
	}
	if raw := h.Get("X-Kratos-Identity-Traits"); raw != "" {
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil {
			t.Fatalf("traits header %q is not base64url without padding: %v", raw, err)
		}
		if err := json.Unmarshal(b, &traits); err != nil {
			t.Fatalf("traits header holds %s: %v", b, err)
		}
	}
	return h.Get("X-Kratos-Authenticated-Identity-Id"), h.Get("X-Kratos-Session-Id"), traits
}

func wantNoIdentity(t *testing.T, what string, h http.Header) {
	t.Helper()
	if h == nil {
		t.Fatalf("%s: the app got no request", what)
	}
	for name, v := range h {
		if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(name, "_", "-")), "x-kratos-") {
			t.Errorf("%s: the app got %s: %q", what, name, v)
		}
	}
	for _, name := range []string{"X-User", "X-User-First", "X-Session"} {
		if v := h.Get(name); v != "" {
			t.Errorf("%s: the app got %s: %q, want it empty", what, name, v)
		}
	}
}

func TestPassThroughIdentityToTheApp(t *testing.T) {
	s := startAppSite(t)
	c := browser(t)

	// Forged headers never reach the app, signed in or not.
	res := do(t, c, "GET", s.public+"/page", nil, forgedIdentity...)
	wantStatus(t, res, 200)
	wantNoIdentity(t, "no session", s.app.last("/page"))
	res = do(t, c, "GET", s.public+"/page", nil, append([]string{"X-Session-Token", "ory_st_" + strings.Repeat("a", 32)}, forgedIdentity...)...)
	wantStatus(t, res, 200)
	wantNoIdentity(t, "unknown token", s.app.last("/page"))

	token, reg := registerAPI(t, s.site, "alice@example.com", "a long enough secret")
	wantID, _ := get(reg, "identity", "id").(string)
	wantSession, _ := get(reg, "session", "id").(string)

	for name, auth := range map[string][]string{
		"session token": {"X-Session-Token", token},
		"bearer":        {"Authorization", "Bearer " + token},
	} {
		res = do(t, c, "GET", s.public+"/page?x=1", nil, append(auth, forgedIdentity...)...)
		wantStatus(t, res, 200)
		h := s.app.last("/page")
		id, session, traits := identityOf(t, h)
		if id != wantID || session != wantSession {
			t.Errorf("%s: the app got identity %q session %q, want %q %q", name, id, session, wantID, wantSession)
		}
		wantTraits := map[string]any{"email": "alice@example.com", "name": map[string]any{"first": "Grace", "last": "Hopper"}}
		if !reflect.DeepEqual(traits, wantTraits) {
			t.Errorf("%s: traits %v, want %v", name, traits, wantTraits)
		}
		if h.Get("X-User") != wantID || h.Get("X-User-First") != "Grace" || h.Get("X-Session") != wantSession || h.Get("X-Privileged") != "true" {
			t.Errorf("%s: header_up placeholders gave X-User %q, X-User-First %q, X-Session %q, X-Privileged %q",
				name, h.Get("X-User"), h.Get("X-User-First"), h.Get("X-Session"), h.Get("X-Privileged"))
		}
	}

	// A browser session (cookie) works the same.
	jar := browser(t)
	res = loginBrowser(t, s.site, jar, "alice@example.com", "a long enough secret", "")
	wantStatus(t, res, 303)
	res = do(t, jar, "GET", s.public+"/page", nil, forgedIdentity...)
	wantStatus(t, res, 200)
	if id, session, _ := identityOf(t, s.app.last("/page")); id != wantID || session == "" || session == wantSession {
		t.Errorf("cookie session: the app got identity %q session %q", id, session)
	}

	// A profile change shows on the very next request.
	flow := settingsAPI(t, s.site, token)
	res = do(t, c, "POST", get(flow, "ui", "action").(string),
		`{"method":"profile","traits":{"email":"alice@example.com","name":{"first":"Alicia","last":"Hopper"}}}`,
		"Accept", "application/json", "X-Session-Token", token)
	wantStatus(t, res, 200)
	res = do(t, c, "GET", s.public+"/page", nil, "X-Session-Token", token)
	wantStatus(t, res, 200)
	h := s.app.last("/page")
	if _, _, traits := identityOf(t, h); get(traits, "name", "first") != "Alicia" || h.Get("X-User-First") != "Alicia" {
		t.Errorf("after the profile update the app got traits %v, X-User-First %q", traits, h.Get("X-User-First"))
	}
	// ... and in the browser's session too.
	res = do(t, jar, "GET", s.public+"/page", nil)
	wantStatus(t, res, http.StatusOK)
	if _, _, traits := identityOf(t, s.app.last("/page")); get(traits, "name", "first") != "Alicia" {
		t.Errorf("the browser session still shows traits %v", traits)
	}

	// A trait with a line break reaches the app in one header line: no
	// injected header, no 502 from Go refusing the proxied request.
	res = do(t, c, "POST", get(settingsAPI(t, s.site, token), "ui", "action").(string),
		`{"method":"profile","traits":{"email":"alice@example.com","name":{"first":"Alicia\r\nX-Evil: 1","last":"Hopper"}}}`,
		"Accept", "application/json", "X-Session-Token", token)
	wantStatus(t, res, 200)
	res = do(t, c, "GET", s.public+"/page", nil, "X-Session-Token", token)
	wantStatus(t, res, 200)
	h = s.app.last("/page")
	if got := h.Get("X-User-First"); got != "Alicia  X-Evil: 1" || h.Get("X-Evil") != "" {
		t.Errorf("a trait with CRLF gave X-User-First %q, X-Evil %q", got, h.Get("X-Evil"))
	}
	if _, _, traits := identityOf(t, h); get(traits, "name", "first") != "Alicia\r\nX-Evil: 1" {
		t.Errorf("the traits header lost the exact value: %v", traits)
	}

	// After logout the app sees no identity.
	res = do(t, c, "DELETE", s.kratos()+"/self-service/logout/api", fmt.Sprintf(`{"session_token":%q}`, token))
	wantStatus(t, res, 204)
	res = do(t, c, "GET", s.public+"/page", nil, append([]string{"X-Session-Token", token}, forgedIdentity...)...)
	wantStatus(t, res, 200)
	wantNoIdentity(t, "after logout", s.app.last("/page"))
}

func TestRequireSessionThroughCaddy(t *testing.T) {
	s := startAppSite(t)
	c := browser(t)
	const page = "/account/billing?tab=2&q=a+b"

	// A JSON caller gets 401 session_inactive.
	res := do(t, c, "GET", s.public+page, nil, "Accept", "application/json")
	wantStatus(t, res, 401)
	if get(res.json(t), "error", "id") != "session_inactive" {
		t.Fatalf("%s", res.body)
	}
	if s.app.count("/account/billing") != 0 {
		t.Fatal("the app got a request without a session under require_session")
	}

	// A browser goes to the login flow and comes back to the page.
	res = do(t, c, "GET", s.public+page, nil, "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	wantStatus(t, res, 303)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Scheme+"://"+loc.Host != s.public || loc.Path != "/.ory/kratos/public/self-service/login/browser" {
		t.Fatalf("Location %s", loc)
	}
	if rt := loc.Query().Get("return_to"); rt != s.public+page {
		t.Fatalf("return_to %q, want %q", rt, s.public+page)
	}
	res = do(t, c, "GET", loc.String(), nil)
	wantStatus(t, res, 303) // not 400 or the error UI: return_to accepted
	ui, _ := url.Parse(res.Header.Get("Location"))
	flowID := ui.Query().Get("flow")
	if strings.Contains(ui.Path, "/error") || flowID == "" {
		t.Fatalf("the login flow refused the return_to: %s", ui)
	}
	flow := do(t, c, "GET", s.kratos()+"/self-service/login/flows?id="+flowID, nil)
	wantStatus(t, flow, 200)
	f := flow.json(t)
	if f["return_to"] != s.public+page {
		t.Errorf("flow return_to %v", f["return_to"])
	}

	registerAPI(t, s.site, "bob@example.com", "a long enough secret")
	res = do(t, c, "POST", get(f, "ui", "action").(string), url.Values{
		"method": {"password"}, "identifier": {"bob@example.com"}, "password": {"a long enough secret"}, "csrf_token": {csrfOf(t, f)},
	})
	wantStatus(t, res, 303)
	if got := res.Header.Get("Location"); got != s.public+page {
		t.Fatalf("after login the browser goes to %q, want %q", got, s.public+page)
	}
	res = do(t, c, "GET", s.public+page, nil, forgedIdentity...)
	wantStatus(t, res, 200)
	if id, _, traits := identityOf(t, s.app.last("/account/billing")); id == "" || get(traits, "email") != "bob@example.com" {
		t.Errorf("signed in under require_session: the app got identity %q traits %v", id, traits)
	}

	// Outside /account/* nothing is required.
	res = do(t, browser(t), "GET", s.public+"/public", nil)
	wantStatus(t, res, 200)
}
