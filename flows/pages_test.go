package flows

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
	"github.com/seed06f30684/caddy-kratos/memstore"
	"github.com/seed06f30684/caddy-kratos/pages"
	"github.com/seed06f30684/caddy-kratos/text"
)

// uiTestSchema is the v0.1 API's identity schema with a boolean trait added.
const uiTestSchema = `{
  "$id": "https://example.org/identity.traits.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "email": {
      "type": "string",
      "format": "email",
      "title": "E-Mail",
      "minLength": 3,
      "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
    },
    "name": {
      "type": "object",
      "properties": {
        "first": {"type": "string", "minLength": 5},
        "last": {"type": "string"}
      }
    },
    "newsletter": {"type": "boolean", "title": "Send me the newsletter"}
  },
  "required": ["email"],
  "additionalProperties": false
}`

const (
	uiHost     = "http://example.com"
	uiPrefix   = DefaultPublicPrefix
	uiPassword = "correct horse battery staple"
	uiCSPBase  = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

type uiEnv struct {
	t     *testing.T
	s     *Service
	clock *testenv.Clock
}

func newUIEnv(t *testing.T, configure ...func(*Config)) *uiEnv {
	t.Helper()
	sch := testenv.Schema(t, uiTestSchema)
	clock := testenv.NewClock(time.Now())
	cfg := Config{Schema: sch, Store: memstore.NewWithClock(clock.Now), PasswordCost: 4, Now: clock.Now}
	for _, c := range configure {
		c(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &uiEnv{t: t, s: s, clock: clock}
}

// uiBrowser is a browser: it keeps cookies and follows redirects within
// the public API.
type uiBrowser struct {
	env     *uiEnv
	cookies map[string]*http.Cookie
}

func (e *uiEnv) browser() *uiBrowser {
	return &uiBrowser{env: e, cookies: map[string]*http.Cookie{}}
}

// do sends one request; target is a path or an absolute URL on uiHost.
func (b *uiBrowser) do(method, target string, form url.Values) *httptest.ResponseRecorder {
	t := b.env.t
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "" && uiHost != u.Scheme+"://"+u.Host {
		t.Fatalf("request to another site: %s", target)
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, uiHost+u.RequestURI(), body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	rel, ok := strings.CutPrefix(u.Path, uiPrefix)
	if !ok {
		t.Fatalf("request outside the public API: %s", target)
	}
	b.env.s.ServePublic(rec, req, rel)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

// follow GETs target and follows redirects while they stay in the public
// API; it returns the last response and its URL.
func (b *uiBrowser) follow(target string) (*httptest.ResponseRecorder, string) {
	return b.followFrom(b.do(http.MethodGet, target, nil), target)
}

func (b *uiBrowser) followFrom(rec *httptest.ResponseRecorder, at string) (*httptest.ResponseRecorder, string) {
	b.env.t.Helper()
	for range 10 {
		loc := rec.Header().Get("Location")
		if rec.Code < 300 || rec.Code > 399 || !strings.HasPrefix(loc, uiHost+uiPrefix+"/") {
			return rec, at
		}
		at = loc
		rec = b.do(http.MethodGet, loc, nil)
	}
	b.env.t.Fatalf("too many redirects, at %s", at)
	return nil, ""
}

// submit posts a form of the page, as a browser does: its hidden inputs and
// enabled fields, changed by set, and the named button.
func (b *uiBrowser) submit(page, formID, button string, set url.Values) (*httptest.ResponseRecorder, string) {
	b.env.t.Helper()
	action, values := formOf(b.env.t, page, formID, button)
	for k, v := range set {
		values[k] = v
	}
	return b.followFrom(b.do(http.MethodPost, action, values), action)
}

// csrfReal is the token in the browser's CSRF cookie.
func (b *uiBrowser) csrfReal() []byte {
	for name, c := range b.cookies {
		if strings.HasPrefix(name, csrfCookiePrefix) {
			real, _ := base64.StdEncoding.DecodeString(c.Value)
			return real
		}
	}
	return nil
}

// register signs a new identity up through the built-in registration page;
// the browser ends signed in.
func (b *uiBrowser) register(email, first, last string) {
	t := b.env.t
	t.Helper()
	rec, at := b.follow(uiPrefix + "/self-service/registration/browser")
	if rec.Code != http.StatusOK || !strings.Contains(at, siteurl.RegistrationPath) {
		t.Fatalf("registration page: %d at %s", rec.Code, at)
	}
	rec, at = b.submit(rec.Body.String(), "registration", "method", url.Values{
		"traits.email": {email}, "traits.name.first": {first}, "traits.name.last": {last}, "password": {uiPassword},
	})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != uiHost+"/" {
		t.Fatalf("registration: %d at %s to %q\n%s", rec.Code, at, rec.Header().Get("Location"), rec.Body)
	}
	if b.cookies[SessionCookie] == nil {
		t.Fatal("no session cookie after registration")
	}
}

var (
	uiFormRe  = regexp.MustCompile(`(?s)<form id="([^"]*)" method="([^"]*)" action="([^"]*)"[^>]*>(.*?)</form>`)
	uiInputRe = regexp.MustCompile(`<input [^>]*>`)
	uiButtonR = regexp.MustCompile(`<button [^>]*>`)
	uiAttrRe  = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
)

func tagAttrs(tag string) map[string]string {
	attrs := map[string]string{}
	tag = strings.TrimSuffix(strings.TrimPrefix(tag[strings.IndexByte(tag, ' '):], " "), ">")
	for _, m := range uiAttrRe.FindAllStringSubmatch(tag, -1) {
		attrs[m[1]] = html.UnescapeString(m[2])
	}
	return attrs
}

// formOf returns a form's action and what a browser submits with button.
func formOf(t *testing.T, page, formID, button string) (string, url.Values) {
	t.Helper()
	for _, m := range uiFormRe.FindAllStringSubmatch(page, -1) {
		if m[1] != formID {
			continue
		}
		values := url.Values{}
		for _, tag := range uiInputRe.FindAllString(m[4], -1) {
			a := tagAttrs(tag)
			if _, off := a["disabled"]; off || a["name"] == "" {
				continue
			}
			if _, checked := a["checked"]; a["type"] == "checkbox" && !checked {
				continue
			}
			values.Add(a["name"], a["value"])
		}
		for _, tag := range uiButtonR.FindAllString(m[4], -1) {
			if a := tagAttrs(tag); button != "" && a["name"] == button {
				values.Set(a["name"], a["value"])
			}
		}
		return html.UnescapeString(m[3]), values
	}
	t.Fatalf("no form %q in\n%s", formID, page)
	return "", nil
}

// inputTag is the first input named name.
func inputTag(t *testing.T, page, name string) map[string]string {
	t.Helper()
	for _, tag := range uiInputRe.FindAllString(page, -1) {
		if a := tagAttrs(tag); a["name"] == name {
			return a
		}
	}
	t.Fatalf("no input %q in\n%s", name, page)
	return nil
}

// fieldBlock is the <div class="field"> around the first visible input named name.
func fieldBlock(t *testing.T, page, name string) string {
	t.Helper()
	at := strings.Index(page, `name="`+name+`" type=`)
	for at >= 0 && strings.HasPrefix(page[at:], `name="`+name+`" type="hidden"`) {
		next := strings.Index(page[at+1:], `name="`+name+`" type=`)
		if next < 0 {
			at = -1
			break
		}
		at += 1 + next
	}
	if at < 0 {
		t.Fatalf("no field %q in\n%s", name, page)
	}
	start := strings.LastIndex(page[:at], `<div class="field`)
	end := strings.Index(page[at:], "</div>")
	if start < 0 || end < 0 {
		t.Fatalf("field %q is not in a field block", name)
	}
	return page[start : at+end]
}

// checkPage checks what every page has: status, headers, no script, a label
// for every visible input, and CSRF tokens that verify against the cookie.
func checkPage(t *testing.T, b *uiBrowser, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	page := rec.Body.String()
	if rec.Code != status {
		t.Fatalf("status %d, want %d\n%s", rec.Code, status, page)
	}
	h := rec.Header()
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := h.Get("Content-Security-Policy"); csp != uiCSPBase && b.env.s.cfg.UIStylesheet == "" {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if cc := h.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
		t.Errorf("Cache-Control %q", cc)
	}
	for _, want := range []string{`<html lang="en">`, `<meta name="viewport"`, `<link rel="stylesheet"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Errorf("page has a script:\n%s", page)
	}
	for _, tag := range uiInputRe.FindAllString(page, -1) {
		a := tagAttrs(tag)
		if a["type"] == "hidden" {
			continue
		}
		if a["id"] == "" || (!strings.Contains(page, `<label for="`+a["id"]+`">`) && a["aria-label"] == "") {
			t.Errorf("input without a label: %s", tag)
		}
	}
	real := b.csrfReal()
	for _, tag := range uiInputRe.FindAllString(page, -1) {
		if a := tagAttrs(tag); a["name"] == "csrf_token" {
			if got := csrf.Unmask(a["value"]); real == nil || !bytes.Equal(got, real) {
				t.Errorf("csrf_token %q does not verify against the cookie", a["value"])
			}
		}
	}
	return page
}

func wantIn(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("missing %q in\n%s", w, page)
		}
	}
}

func wantNotIn(t *testing.T, page string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(page, w) {
			t.Errorf("unexpected %q in\n%s", w, page)
		}
	}
}

func wantRedirect(t *testing.T, rec *httptest.ResponseRecorder, to string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != to {
		t.Fatalf("got %d to %q, want 303 to %q\n%s", rec.Code, rec.Header().Get("Location"), to, rec.Body)
	}
}

func flowParam(t *testing.T, at, key string) string {
	t.Helper()
	u, err := url.Parse(at)
	if err != nil || u.Query().Get(key) == "" {
		t.Fatalf("no %s in %q", key, at)
	}
	return u.Query().Get(key)
}

func TestUILoginPage(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	rec, at := b.follow(uiPrefix + "/self-service/login/browser?return_to=/after")
	if !strings.HasPrefix(at, uiHost+uiPrefix+siteurl.LoginPath+"?flow=") {
		t.Fatalf("landed at %s", at)
	}
	page := checkPage(t, b, rec, http.StatusOK)
	id := flowParam(t, at, "flow")
	wantIn(t, page,
		`<title>Sign in</title>`,
		`<form id="login" method="POST" action="`+uiHost+uiPrefix+`/self-service/login?flow=`+id+`">`,
		`<label for="login-identifier">ID`,
		`<input id="login-identifier" name="identifier" type="text" value="" autocomplete="username" required>`,
		`<label for="login-password">Password`,
		`autocomplete="current-password"`,
		`<button type="submit" name="method" value="password">Sign in</button>`,
		`No account yet? <a href="`+uiHost+uiPrefix+`/self-service/registration/browser?return_to=http%3A%2F%2Fexample.com%2Fafter">Create an account</a>`,
		`<link rel="stylesheet" href="`+uiPrefix+`/ui/style.css?v=`+pages.CSSVersion+`">`,
	)
	if a := inputTag(t, page, "csrf_token"); a["type"] != "hidden" {
		t.Errorf("csrf_token input: %v", a)
	}
	// Each render masks the token afresh; both verify.
	again := checkPage(t, b, b.do(http.MethodGet, at, nil), http.StatusOK)
	if inputTag(t, page, "csrf_token")["value"] == inputTag(t, again, "csrf_token")["value"] {
		t.Error("the csrf token was not masked afresh")
	}

	// The registration link starts a registration that keeps return_to and
	// links back to sign in.
	rec, at = b.follow(uiHost + uiPrefix + "/self-service/registration/browser?return_to=http%3A%2F%2Fexample.com%2Fafter")
	page = checkPage(t, b, rec, http.StatusOK)
	if !strings.Contains(at, siteurl.RegistrationPath+"?flow=") {
		t.Fatalf("landed at %s", at)
	}
	wantIn(t, page, `<title>Create an account</title>`,
		`Already have an account? <a href="`+uiHost+uiPrefix+`/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fafter">Sign in</a>`,
		`<label for="registration-traits-email">E-Mail`,
		`<label for="registration-traits-name-first">First name</label>`,
		`<label for="registration-traits-name-last">Last name</label>`,
		`<label for="registration-traits-newsletter">Send me the newsletter</label>`,
		`<input type="hidden" name="traits.newsletter" value="false">`,
		`autocomplete="new-password"`,
		`<button type="submit" name="method" value="password">Sign up</button>`)
}

func TestUILoginWrongPassword(t *testing.T) {
	env := newUIEnv(t)
	env.browser().register("ada@example.com", "Augusta", "King")

	b := env.browser()
	rec, _ := b.follow(uiPrefix + "/self-service/login/browser")
	page := checkPage(t, b, rec, http.StatusOK)
	rec, at := b.submit(page, "login", "method", url.Values{"identifier": {"ada@example.com"}, "password": {"not the password"}})
	if !strings.Contains(at, siteurl.LoginPath) {
		t.Fatalf("landed at %s", at)
	}
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page,
		`<p class="message error" role="alert" data-message-id="4000006">`+html.EscapeString(msgInvalidCredentials.Text)+`</p>`,
		`<input id="login-identifier" name="identifier" type="text" value="ada@example.com"`)

	rec, _ = b.submit(page, "login", "method", url.Values{"password": {uiPassword}})
	wantRedirect(t, rec, uiHost+"/")
	if b.cookies[SessionCookie] == nil {
		t.Fatal("no session after signing in")
	}
}

func TestUIRegistrationFieldErrors(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	rec, _ := b.follow(uiPrefix + "/self-service/registration/browser")
	page := checkPage(t, b, rec, http.StatusOK)
	rec, at := b.submit(page, "registration", "method", url.Values{
		"traits.email": {"ada@example.com"}, "traits.name.first": {"Ada"}, "password": {"short"},
	})
	if !strings.Contains(at, siteurl.RegistrationPath) {
		t.Fatalf("landed at %s", at)
	}
	page = checkPage(t, b, rec, http.StatusOK)

	first := fieldBlock(t, page, "traits.name.first")
	wantIn(t, first, `<div class="field invalid">`, `value="Ada"`, `aria-invalid="true"`,
		`aria-describedby="registration-traits-name-first-messages"`,
		`<ul class="field-messages" id="registration-traits-name-first-messages">`,
		`<li class="message error" data-message-id="4000003">length must be &gt;= 5, but got 3</li>`)
	pw := fieldBlock(t, page, "password")
	wantIn(t, pw, `data-message-id="4000032">The password must be at least 8 characters long, but got 5.</li>`)
	// Errors stay with their own field.
	wantNotIn(t, fieldBlock(t, page, "traits.email"), "message", "invalid")
	wantNotIn(t, fieldBlock(t, page, "traits.name.last"), "message", "invalid")
	wantNotIn(t, first, "password must")
}

func TestUISettingsPage(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	b.register("ada@example.com", "Augusta", "King")
	rec, at := b.follow(uiPrefix + "/self-service/settings/browser")
	if !strings.Contains(at, siteurl.SettingsPath+"?flow=") {
		t.Fatalf("landed at %s", at)
	}
	page := checkPage(t, b, rec, http.StatusOK)
	action := uiHost + uiPrefix + "/self-service/settings?flow=" + flowParam(t, at, "flow")
	wantIn(t, page,
		`<p class="intro">Signed in as ada@example.com</p>`,
		`<form id="settings-profile" method="POST" action="`+action+`"`,
		`<h2 id="settings-profile-heading">Profile</h2>`,
		`<form id="settings-password" method="POST" action="`+action+`"`,
		`<h2 id="settings-password-heading">Change password</h2>`,
		`<input id="settings-profile-traits-email" name="traits.email" type="email" value="ada@example.com" autocomplete="email" required>`,
		`<input id="settings-profile-traits-name-first" name="traits.name.first" type="text" value="Augusta">`,
		`<input id="settings-password-password" name="password" type="password" autocomplete="new-password" required>`,
		`<button type="submit" name="method" value="profile">Save</button>`,
		`<button type="submit" name="method" value="password">Save</button>`,
		`<a href="`+uiHost+`/">Back to the site</a>`)
	if n := strings.Count(page, `name="csrf_token"`); n != 2 {
		t.Errorf("%d csrf_token inputs, want one per form", n)
	}
	// The profile form holds the traits and not the password, and back.
	_, profile := formOf(t, page, "settings-profile", "method")
	_, password := formOf(t, page, "settings-password", "method")
	if profile.Get("csrf_token") == "" || profile.Has("password") || profile.Get("method") != "profile" {
		t.Errorf("profile form: %v", profile)
	}
	if password.Get("csrf_token") == "" || password.Has("traits.email") || password.Get("method") != "password" {
		t.Errorf("password form: %v", password)
	}

	// Save: the success message, the new values.
	rec, at = b.submit(page, "settings-profile", "method", url.Values{
		"traits.name.first": {"Adaline"}, "traits.newsletter": {"false", "true"},
	})
	if !strings.Contains(at, siteurl.SettingsPath) {
		t.Fatalf("landed at %s", at)
	}
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page,
		`<p class="message success" role="status" data-message-id="1050001">Your changes have been saved!</p>`,
		`name="traits.name.first" type="text" value="Adaline">`,
		`name="traits.newsletter" type="checkbox" value="true" checked>`)

	// A password that fails the policy: its error under the password field.
	rec, _ = b.submit(page, "settings-password", "method", url.Values{"password": {"ada"}})
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, fieldBlock(t, page, "password"), `data-message-id="4000032"`)

	// The sign-out button logs out.
	m := regexp.MustCompile(`<a class="button secondary" href="([^"]*)">Sign out</a>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-out button in\n%s", page)
	}
	logout := html.UnescapeString(m[1])
	if !strings.HasPrefix(logout, uiHost+uiPrefix+"/self-service/logout?token=") {
		t.Fatalf("sign-out URL %q", logout)
	}
	wantRedirect(t, b.do(http.MethodGet, logout, nil), uiHost+"/")
	if b.cookies[SessionCookie] != nil {
		t.Error("the session cookie is still set after signing out")
	}
	if rec := b.do(http.MethodGet, uiPrefix+"/sessions/whoami", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("whoami after sign-out: %d", rec.Code)
	}
}

func TestUIRefreshNotice(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	b.register("ada@example.com", "Augusta", "King")
	rec, at := b.follow(uiPrefix + "/self-service/login/browser?refresh=true")
	if !strings.Contains(at, siteurl.LoginPath+"?flow=") {
		t.Fatalf("landed at %s", at)
	}
	page := checkPage(t, b, rec, http.StatusOK)
	notice := `<p class="message info" role="status" data-message-id="1010003">` + html.EscapeString(text.LoginReAuth().Text) + `</p>`
	wantIn(t, page, notice, `<p class="intro">Signed in as ada@example.com</p>`,
		`<input type="hidden" name="identifier" value="ada@example.com">`, `>Cancel</a>`)
	wantNotIn(t, page, "Create an account")

	// After a wrong password the notice is still there, with the error.
	rec, _ = b.submit(page, "login", "method", url.Values{"password": {"wrong password"}})
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, notice, `data-message-id="4000006"`)

	rec, _ = b.submit(page, "login", "method", url.Values{"password": {uiPassword}})
	wantRedirect(t, rec, uiHost+"/")
}

func TestUIRedirects(t *testing.T) {
	env := newUIEnv(t)
	pub := uiHost + uiPrefix

	t.Run("login without a flow", func(t *testing.T) {
		b := env.browser()
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/login?return_to=%2Fback&refresh=true", nil),
			pub+"/self-service/login/browser?refresh=true&return_to=%2Fback")
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/login", nil), pub+"/self-service/login/browser")
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/login?flow=junk", nil), pub+"/self-service/login/browser")
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/login?flow="+identity.NewID(), nil), pub+"/self-service/login/browser")
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/registration?return_to=%2Fback", nil),
			pub+"/self-service/registration/browser?return_to=%2Fback")
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/registration?flow="+identity.NewID(), nil), pub+"/self-service/registration/browser")
	})

	t.Run("expired", func(t *testing.T) {
		b := env.browser()
		_, login := b.follow(uiPrefix + "/self-service/login/browser?return_to=/back")
		_, reg := b.follow(uiPrefix + "/self-service/registration/browser")
		env.clock.Add(2 * time.Hour)
		wantRedirect(t, b.do(http.MethodGet, login, nil), pub+"/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fback")
		wantRedirect(t, b.do(http.MethodGet, reg, nil), pub+"/self-service/registration/browser")
	})

	t.Run("another browser's flow", func(t *testing.T) {
		a := env.browser()
		_, at := a.follow(uiPrefix + "/self-service/login/browser")
		other := env.browser()
		other.follow(uiPrefix + "/self-service/registration/browser") // a CSRF cookie of its own
		wantRedirect(t, other.do(http.MethodGet, at, nil), pub+"/self-service/login/browser")

		// Without any cookie: a fresh flow means the browser drops cookies,
		// and restarting would loop; an older one is restarted.
		bare := env.browser()
		page := checkPageNoCSRF(t, bare.do(http.MethodGet, at, nil), http.StatusBadRequest)
		wantIn(t, page, "Please allow cookies for this site")
		env.clock.Add(pages.CookieLoopWindow)
		wantRedirect(t, bare.do(http.MethodGet, at, nil), pub+"/self-service/login/browser")
	})

	t.Run("signed in", func(t *testing.T) {
		b := env.browser()
		_, login := b.follow(uiPrefix + "/self-service/login/browser?return_to=/back")
		b.register("grace@example.com", "Grace", "Hopper")
		// A login page with a session restarts, and the init sends the
		// browser on to return_to.
		wantRedirect(t, b.do(http.MethodGet, login, nil), pub+"/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fback")
		rec, _ := b.follow(login)
		if loc := rec.Header().Get("Location"); loc != uiHost+"/back" {
			t.Errorf("signed-in login page ends at %q", loc)
		}
	})

	t.Run("settings", func(t *testing.T) {
		anon := env.browser()
		id := identity.NewID()
		wantRedirect(t, anon.do(http.MethodGet, uiPrefix+"/ui/settings?flow="+id, nil),
			pub+"/self-service/login/browser?return_to="+url.QueryEscape(pub+"/ui/settings?flow="+id))

		b := env.browser()
		b.register("linus@example.com", "Linus", "Torvalds")
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/settings", nil), pub+"/self-service/settings/browser")
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/settings?flow="+identity.NewID(), nil), pub+"/self-service/settings/browser")
		_, mine := b.follow(uiPrefix + "/self-service/settings/browser?return_to=/account")

		// Another identity's flow: 403.
		o := env.browser()
		o.register("ken@example.com", "Kenneth", "Thompson")
		page := checkPage(t, o, o.do(http.MethodGet, mine, nil), http.StatusForbidden)
		wantIn(t, page, `<span class="error-code">403</span> Forbidden`, html.EscapeString(apierror.IdentityMismatch().Reason))

		env.clock.Add(2 * time.Hour)
		wantRedirect(t, b.do(http.MethodGet, mine, nil), pub+"/self-service/settings/browser?return_to=http%3A%2F%2Fexample.com%2Faccount")
	})

	t.Run("profile", func(t *testing.T) {
		anon := env.browser()
		wantRedirect(t, anon.do(http.MethodGet, uiPrefix+"/ui/profile?request=x", nil),
			pub+"/self-service/login/browser?return_to="+url.QueryEscape(pub+"/ui/profile?request=x"))
		b := env.browser()
		b.register("barbara@example.com", "Barbara", "Liskov")
		wantRedirect(t, b.do(http.MethodGet, uiPrefix+"/ui/profile", nil), pub+"/self-service/browser/flows/profile")
		_, mine := b.follow(uiPrefix + "/self-service/browser/flows/profile")
		if !strings.Contains(mine, siteurl.ProfilePath+"?request=") {
			t.Fatalf("landed at %s", mine)
		}
		o := env.browser()
		o.register("edsger@example.com", "Edsger", "Dijkstra")
		for _, target := range []string{mine, uiPrefix + "/ui/profile?request=" + identity.NewID()} {
			page := checkPage(t, o, o.do(http.MethodGet, target, nil), http.StatusForbidden)
			wantIn(t, page, html.EscapeString(apierror.ProfileAccess.Reason), `>Open your profile again</a>`)
		}
	})

	t.Run("error and unknown pages", func(t *testing.T) {
		b := env.browser()
		page := checkPageNoCSRF(t, b.do(http.MethodGet, uiPrefix+"/ui/error?id="+identity.NewID(), nil), http.StatusNotFound)
		wantIn(t, page, "This error could not be found.")
		checkPageNoCSRF(t, b.do(http.MethodGet, uiPrefix+"/ui/error", nil), http.StatusNotFound)
		for _, p := range []string{"/ui/nope", "/ui/welcome", "/ui/login/", "/ui/"} {
			rec := b.do(http.MethodGet, uiPrefix+p, nil)
			if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") ||
				!strings.Contains(rec.Body.String(), `"code":404`) {
				t.Errorf("%s: %d %s %s", p, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		}
	})
}

// checkPageNoCSRF checks a page of a browser without cookies.
func checkPageNoCSRF(t *testing.T, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	if rec.Code != status || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
		rec.Header().Get("Content-Security-Policy") != uiCSPBase {
		t.Fatalf("got %d %q %q, want %d HTML\n%s", rec.Code, rec.Header().Get("Content-Type"),
			rec.Header().Get("Content-Security-Policy"), status, rec.Body)
	}
	return rec.Body.String()
}

func TestUILegacyProfileWalkthrough(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	b.register("foobar@ory.sh", "Foobar", "Barbaz")

	// 1-2: the init redirects to the profile UI with ?request=.
	rec := b.do(http.MethodGet, uiPrefix+"/self-service/browser/flows/profile", nil)
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), uiHost+uiPrefix+siteurl.ProfilePath+"?request=") {
		t.Fatalf("init: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	at := rec.Header().Get("Location")
	reqID := flowParam(t, at, "request")
	// 3: the page shows the request's fields, in schema order.
	page := checkPage(t, b, b.do(http.MethodGet, at, nil), http.StatusOK)
	wantIn(t, page,
		`<form id="profile" method="POST" action="`+uiHost+uiPrefix+`/self-service/browser/flows/profile/update?request=`+reqID+`">`,
		`<p class="intro">Signed in as foobar@ory.sh</p>`,
		`<button type="submit">Save</button>`)
	order := []string{`name="csrf_token"`, `name="traits.email"`, `name="traits.name.first"`, `name="traits.name.last"`, `name="traits.newsletter"`}
	last := -1
	for _, o := range order {
		i := strings.Index(page, o)
		if i <= last {
			t.Fatalf("%s out of order in\n%s", o, page)
		}
		last = i
	}
	email := inputTag(t, page, "traits.email")
	if _, ok := email["disabled"]; !ok || email["value"] != "foobar@ory.sh" {
		t.Errorf("email input %v: want it disabled, with the value", email)
	}
	wantIn(t, fieldBlock(t, page, "traits.email"), `This can&#39;t be changed here.`)
	wantIn(t, page, `<label for="profile-traits-name-first">First name</label>`)

	// 4: invalid data: the error under the field, the value kept.
	rec, at2 := b.submit(page, "profile", "", url.Values{"traits.name.first": {"abc"}})
	if at2 != at {
		t.Fatalf("after the update: at %s, want %s", at2, at)
	}
	page = checkPage(t, b, rec, http.StatusOK)
	first := fieldBlock(t, page, "traits.name.first")
	wantIn(t, first, `value="abc"`, `aria-invalid="true"`,
		`<li class="message error">traits.name.first: Must be at least 5 characters long</li>`)
	wantNotIn(t, page, "Your changes have been saved!")

	// Valid data: saved.
	rec, _ = b.submit(page, "profile", "", url.Values{"traits.name.first": {"Foobarbaz"}})
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `<p class="message success" role="status" data-message-id="1050001">Your changes have been saved!</p>`,
		`name="traits.name.first" type="text" value="Foobarbaz">`)
	id, err := env.s.cfg.Store.FindIdentityByIdentifier(t.Context(), "foobar@ory.sh")
	if err != nil {
		t.Fatal(err)
	}
	if got := id.Traits["name"].(map[string]any)["first"]; got != "Foobarbaz" {
		t.Errorf("stored first name %v", got)
	}
}

func TestUIEscaping(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	evil := `<script>alert("x")</script>`
	b.register("ada@example.com", "Augusta", evil)
	rec, _ := b.follow(uiPrefix + "/self-service/settings/browser")
	page := checkPage(t, b, rec, http.StatusOK) // checkPage fails on any <script
	wantIn(t, page, `value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`)
	rec, _ = b.follow(uiPrefix + "/self-service/browser/flows/profile")
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`)

	// Errors echo the value too.
	rec, _ = b.submit(page, "profile", "", url.Values{"traits.name.first": {evil}})
	checkPage(t, b, rec, http.StatusOK)
}

func TestUIErrorPage(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	b.register("ada@example.com", "Augusta", "King")
	rec, at := b.follow(uiPrefix + "/self-service/logout?token=not-the-token")
	if !strings.Contains(at, siteurl.ErrorPath+"?id=") {
		t.Fatalf("landed at %s", at)
	}
	page := checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `<title>Something went wrong</title>`,
		`<span class="error-code">403</span> Forbidden`,
		`<p class="error-reason">Unable to log out because the logout token in the URL query does not match the session cookie.</p>`,
		`<a href="`+uiHost+`/">Back to the site</a>`)
	wantNotIn(t, page, "<form")
}

func TestUIStylesheet(t *testing.T) {
	env := newUIEnv(t)
	b := env.browser()
	rec := b.do(http.MethodGet, uiPrefix+"/ui/style.css?v="+pages.CSSVersion, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(rec.Header().Get("Cache-Control"), "public") || !bytes.Equal(rec.Body.Bytes(), pages.CSS) {
		t.Fatalf("style.css: %d %v", rec.Code, rec.Header())
	}
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest(http.MethodGet, uiHost+uiPrefix+"/ui/style.css", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	env.s.ServePublic(rec, req, "/ui/style.css")
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}

	for _, tc := range []struct{ sheet, csp string }{
		{"https://cdn.example.net/brand/site.css", "default-src 'none'; style-src 'self' https://cdn.example.net; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
		{"/assets/site.css", uiCSPBase},
	} {
		env := newUIEnv(t, func(c *Config) { c.UIStylesheet = tc.sheet })
		b := env.browser()
		rec, _ := b.follow(uiPrefix + "/self-service/login/browser")
		page := checkPage(t, b, rec, http.StatusOK)
		wantIn(t, page, `<link rel="stylesheet" href="`+tc.sheet+`">`)
		wantNotIn(t, page, "/ui/style.css")
		if csp := rec.Header().Get("Content-Security-Policy"); csp != tc.csp {
			t.Errorf("%s: CSP %q, want %q", tc.sheet, csp, tc.csp)
		}
	}
}

// Form posts are checked against form-action up to the redirect's target,
// so the site's allowed return URLs are allowed there too.
func TestUIFormActionAllowsReturnURLs(t *testing.T) {
	env := newUIEnv(t, func(c *Config) {
		c.AllowedReturnURLs = []string{"https://app.example.org/welcome", "http://example.com/same"}
		c.UI.Error = "https://errors.example.org/oops"
	})
	b := env.browser()
	rec, _ := b.follow(uiPrefix + "/self-service/login/browser")
	want := "default-src 'none'; style-src 'self'; form-action 'self' https://errors.example.org https://app.example.org; frame-ancestors 'none'; base-uri 'none'"
	if csp := rec.Header().Get("Content-Security-Policy"); csp != want {
		t.Errorf("CSP %q, want %q", csp, want)
	}
}

func TestUIHumanise(t *testing.T) {
	for in, want := range map[string]string{
		"traits.name.first":      "First name",
		"traits.email":           "Email",
		"traits.phoneNumber":     "Phone number",
		"traits.favourite_color": "Favourite color",
		"traits.address.street":  "Street address",
		"password":               "Password",
		"":                       "Value",
	} {
		if got := pages.Humanise(in); got != want {
			t.Errorf("humanise(%q) = %q, want %q", in, got, want)
		}
	}
}

// A disabled checkbox sends nothing, so it must not carry the hidden
// "false" that stands in for an unchecked one.
func TestUICheckboxAndArrayFields(t *testing.T) {
	var buf bytes.Buffer
	ui := identity.UI{Action: "https://example.com/x", Method: "POST", Nodes: []identity.Node{
		form.Input(identity.GroupProfile, "traits.on", "checkbox", true),
		func() identity.Node {
			n := form.Input(identity.GroupProfile, "traits.locked", "checkbox", false)
			n.Attributes.Disabled = true
			return n
		}(),
		form.Input(identity.GroupProfile, "traits.tags", "text", []any{"a", "b"}),
		form.Input(identity.GroupProfile, "traits.odd", "javascript", "v"),
	}}
	p := &pages.Page{Title: "t", Heading: "t", Forms: pages.NodeForms(ui, "f")}
	if err := pages.UiTemplates.Execute(&buf, p); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	wantIn(t, page,
		`<input type="hidden" name="traits.on" value="false">`,
		`<input id="f-traits-on" name="traits.on" type="checkbox" value="true" checked>`,
		`<input id="f-traits-locked" name="traits.locked" type="checkbox" value="true" disabled>`,
		`<input id="f-traits-tags" name="traits.tags" type="text" value="a">`,
		`<input id="f-traits-tags-0" name="traits.tags" type="text" value="b" aria-label="Tags (more)">`,
		`<input id="f-traits-tags-1" name="traits.tags" type="text" value="" aria-label="Tags (more)">`,
		`<input id="f-traits-odd" name="traits.odd" type="text" value="v">`)
	wantNotIn(t, page, `name="traits.locked" value="false"`)
}
