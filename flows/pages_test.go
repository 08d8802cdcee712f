package flows

import (
	"bytes"
	"html"
	"net/http"
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
	"github.com/seed06f30684/caddy-kratos/locale"
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

const uiCSPBase = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

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
func checkPage(t *testing.T, b *client, rec *answer, status int) string {
	t.Helper()
	page := rec.Body.String()
	if rec.Code != status {
		t.Fatalf("status %d, want %d\n%s", rec.Code, status, page)
	}
	h := rec.Header()
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := h.Get("Content-Security-Policy"); csp != uiCSPBase && b.e.s.cfg.UIStylesheet == "" {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if cc := h.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
		t.Errorf("Cache-Control %q", cc)
	}
	lang := "en"
	if strings.HasPrefix(b.lang, "de") {
		lang = "de"
	}
	for _, want := range []string{`<html lang="` + lang + `">`, `<meta name="viewport"`, `<link rel="stylesheet"`} {
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

// signedUpAda is a Service with uiTestSchema and a browser that signed
// ada@example.com (Augusta King) up through the built-in pages.
func signedUpAda(t *testing.T) (*flowEnv, *client) {
	t.Helper()
	e := newFlowEnv(t, withSchema(uiTestSchema))
	b := e.newClient(callerBrowser)
	b.register("ada@example.com", "Augusta", "King")
	return e, b
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

func wantRedirect(t *testing.T, rec *answer, to string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther || rec.Location() != to {
		t.Fatalf("got %d to %q, want 303 to %q\n%s", rec.Code, rec.Location(), to, rec.Body)
	}
}

func TestUILoginPage(t *testing.T) {
	env := newFlowEnv(t, withSchema(uiTestSchema))
	b := env.newClient(callerBrowser)
	rec, at := b.follow(DefaultPublicPrefix + "/self-service/login/browser?return_to=/after")
	if !strings.HasPrefix(at, testPub+siteurl.LoginPath+"?flow=") {
		t.Fatalf("landed at %s", at)
	}
	page := checkPage(t, b, rec, http.StatusOK)
	id := flowParam(t, at, "flow")
	wantIn(t, page,
		`<title>Sign in</title>`,
		`<form id="login" method="POST" action="`+testPub+`/self-service/login?flow=`+id+`">`,
		`<label for="login-identifier">E-Mail`,
		`<input id="login-identifier" name="identifier" type="text" value="" autocomplete="email" required>`,
		`<label for="login-password">Password`,
		`autocomplete="current-password"`,
		`<button type="submit" name="method" value="password">Sign in</button>`,
		`No account yet? <a href="`+testPub+`/self-service/registration/browser?return_to=http%3A%2F%2Fexample.com%2Fafter">Create an account</a>`,
		`<link rel="stylesheet" href="`+DefaultPublicPrefix+`/ui/style.css?v=`+pages.CSSVersion+`">`,
	)
	if a := inputTag(t, page, "csrf_token"); a["type"] != "hidden" {
		t.Errorf("csrf_token input: %v", a)
	}
	// Each render masks the token afresh; both verify.
	again := checkPage(t, b, b.get(at), http.StatusOK)
	if inputTag(t, page, "csrf_token")["value"] == inputTag(t, again, "csrf_token")["value"] {
		t.Error("the csrf token was not masked afresh")
	}

	// The registration link starts a registration that keeps return_to and
	// links back to sign in.
	rec, _ = b.open(testPub+"/self-service/registration/browser?return_to=http%3A%2F%2Fexample.com%2Fafter", siteurl.RegistrationPath+"?flow=")
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `<title>Create an account</title>`,
		`Already have an account? <a href="`+testPub+`/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fafter">Sign in</a>`,
		`<label for="registration-traits-email">E-Mail`,
		`<label for="registration-traits-name-first">First name</label>`,
		`<label for="registration-traits-name-last">Last name</label>`,
		`<label for="registration-traits-newsletter">Send me the newsletter</label>`,
		`<input type="hidden" name="traits.newsletter" value="false">`,
		`autocomplete="new-password"`,
		`<button type="submit" name="method" value="password">Sign up</button>`)
}

func TestUILoginWrongPassword(t *testing.T) {
	env, _ := signedUpAda(t)

	b := env.newClient(callerBrowser)
	rec, _ := b.follow(DefaultPublicPrefix + "/self-service/login/browser")
	page := checkPage(t, b, rec, http.StatusOK)
	rec, at := b.submitForm(page, "login", "method", url.Values{"identifier": {"ada@example.com"}, "password": {"not the password"}})
	if !strings.Contains(at, siteurl.LoginPath) {
		t.Fatalf("landed at %s", at)
	}
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page,
		`<p class="message error" role="alert" data-message-id="4000006">The sign-in details are wrong. Check your email address (or user name) and password for typing mistakes.</p>`,
		`<input id="login-identifier" name="identifier" type="text" value="ada@example.com"`)

	rec, _ = b.submitForm(page, "login", "method", url.Values{"password": {testPassword}})
	wantRedirect(t, rec, testHost+"/")
	if b.cookies[SessionCookie] == "" {
		t.Fatal("no session after signing in")
	}
}

func TestUIRegistrationFieldErrors(t *testing.T) {
	env := newFlowEnv(t, withSchema(uiTestSchema))
	b := env.newClient(callerBrowser)
	rec, _ := b.follow(DefaultPublicPrefix + "/self-service/registration/browser")
	page := checkPage(t, b, rec, http.StatusOK)
	rec, at := b.submitForm(page, "registration", "method", url.Values{
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
		`<li class="message error" data-message-id="4000003">At least 5 characters.</li>`)
	pw := fieldBlock(t, page, "password")
	wantIn(t, pw, `data-message-id="4000032">At least 8 characters.</li>`)
	// Errors stay with their own field.
	wantNotIn(t, fieldBlock(t, page, "traits.email"), "message", "invalid")
	wantNotIn(t, fieldBlock(t, page, "traits.name.last"), "message", "invalid")
	wantNotIn(t, first, "password must")
}

func TestUISettingsPage(t *testing.T) {
	_, b := signedUpAda(t)
	rec, at := b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
	page := checkPage(t, b, rec, http.StatusOK)
	action := testPub + "/self-service/settings?flow=" + flowParam(t, at, "flow")
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
		`<a href="`+testHost+`/">Back to the site</a>`)
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
	rec, at = b.submitForm(page, "settings-profile", "method", url.Values{
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
	rec, _ = b.submitForm(page, "settings-password", "method", url.Values{"password": {"ada"}})
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, fieldBlock(t, page, "password"), `data-message-id="4000032"`)

	// The sign-out button logs out.
	m := regexp.MustCompile(`<a class="button secondary" href="([^"]*)">Sign out</a>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-out button in\n%s", page)
	}
	logout := html.UnescapeString(m[1])
	if !strings.HasPrefix(logout, testPub+"/self-service/logout?token=") {
		t.Fatalf("sign-out URL %q", logout)
	}
	wantRedirect(t, b.get(logout), testHost+"/")
	if b.cookies[SessionCookie] != "" {
		t.Error("the session cookie is still set after signing out")
	}
	if rec := b.get(DefaultPublicPrefix + "/sessions/whoami"); rec.Code != http.StatusUnauthorized {
		t.Errorf("whoami after sign-out: %d", rec.Code)
	}
}

func TestUIRefreshNotice(t *testing.T) {
	_, b := signedUpAda(t)
	rec, _ := b.open(DefaultPublicPrefix+"/self-service/login/browser?refresh=true", siteurl.LoginPath+"?flow=")
	page := checkPage(t, b, rec, http.StatusOK)
	notice := `<p class="message info" role="status" data-message-id="1010003">` + html.EscapeString(text.LoginReAuth().Text) + `</p>`
	wantIn(t, page, notice, `<p class="intro">Signed in as ada@example.com</p>`,
		`<input type="hidden" name="identifier" value="ada@example.com">`, `>Cancel</a>`)
	wantNotIn(t, page, "Create an account")

	// After a wrong password the notice is still there, with the error.
	rec, _ = b.submitForm(page, "login", "method", url.Values{"password": {"wrong password"}})
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, notice, `data-message-id="4000006"`)

	rec, _ = b.submitForm(page, "login", "method", url.Values{"password": {testPassword}})
	wantRedirect(t, rec, testHost+"/")
}

func TestUIRedirects(t *testing.T) {
	env := newFlowEnv(t, withSchema(uiTestSchema))

	t.Run("login without a flow", func(t *testing.T) {
		b := env.newClient(callerBrowser)
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/login?return_to=%2Fback&refresh=true"),
			testPub+"/self-service/login/browser?refresh=true&return_to=%2Fback")
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/login"), testPub+"/self-service/login/browser")
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/login?flow=junk"), testPub+"/self-service/login/browser")
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/login?flow="+identity.NewID()), testPub+"/self-service/login/browser")
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/registration?return_to=%2Fback"),
			testPub+"/self-service/registration/browser?return_to=%2Fback")
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/registration?flow="+identity.NewID()), testPub+"/self-service/registration/browser")
	})

	t.Run("expired", func(t *testing.T) {
		b := env.newClient(callerBrowser)
		_, login := b.follow(DefaultPublicPrefix + "/self-service/login/browser?return_to=/back")
		_, reg := b.follow(DefaultPublicPrefix + "/self-service/registration/browser")
		env.clock.Add(2 * time.Hour)
		wantRedirect(t, b.get(login), testPub+"/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fback")
		wantRedirect(t, b.get(reg), testPub+"/self-service/registration/browser")
	})

	t.Run("another browser's flow", func(t *testing.T) {
		a := env.newClient(callerBrowser)
		_, at := a.follow(DefaultPublicPrefix + "/self-service/login/browser")
		other := env.newClient(callerBrowser)
		other.follow(DefaultPublicPrefix + "/self-service/registration/browser") // a CSRF cookie of its own
		wantRedirect(t, other.get(at), testPub+"/self-service/login/browser")

		// Without any cookie: a fresh flow means the browser drops cookies,
		// and restarting would loop; an older one is restarted.
		bare := env.newClient(callerBrowser)
		page := checkPageNoCSRF(t, bare.get(at), http.StatusBadRequest)
		wantIn(t, page, "Please allow cookies for this site")
		env.clock.Add(pages.CookieLoopWindow)
		wantRedirect(t, bare.get(at), testPub+"/self-service/login/browser")
	})

	t.Run("signed in", func(t *testing.T) {
		b := env.newClient(callerBrowser)
		_, login := b.follow(DefaultPublicPrefix + "/self-service/login/browser?return_to=/back")
		b.register("grace@example.com", "Grace", "Hopper")
		// A login page with a session restarts, and the init sends the
		// browser on to return_to.
		wantRedirect(t, b.get(login), testPub+"/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fback")
		rec, _ := b.follow(login)
		if loc := rec.Header().Get("Location"); loc != testHost+"/back" {
			t.Errorf("signed-in login page ends at %q", loc)
		}
	})

	t.Run("settings", func(t *testing.T) {
		anon := env.newClient(callerBrowser)
		id := identity.NewID()
		wantRedirect(t, anon.get(DefaultPublicPrefix+"/ui/settings?flow="+id),
			testPub+"/self-service/login/browser?return_to="+url.QueryEscape(testPub+"/ui/settings?flow="+id))

		b := env.newClient(callerBrowser)
		b.register("linus@example.com", "Linus", "Torvalds")
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/settings"), testPub+"/self-service/settings/browser")
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/settings?flow="+identity.NewID()), testPub+"/self-service/settings/browser")
		_, mine := b.follow(DefaultPublicPrefix + "/self-service/settings/browser?return_to=/account")

		// Another identity's flow: 403.
		o := env.newClient(callerBrowser)
		o.register("ken@example.com", "Kenneth", "Thompson")
		page := checkPage(t, o, o.get(mine), http.StatusForbidden)
		wantIn(t, page, `<span class="error-code">403</span> Forbidden`, html.EscapeString(apierror.IdentityMismatch().Reason))

		env.clock.Add(2 * time.Hour)
		wantRedirect(t, b.get(mine), testPub+"/self-service/settings/browser?return_to=http%3A%2F%2Fexample.com%2Faccount")
	})

	t.Run("profile", func(t *testing.T) {
		anon := env.newClient(callerBrowser)
		wantRedirect(t, anon.get(DefaultPublicPrefix+"/ui/profile?request=x"),
			testPub+"/self-service/login/browser?return_to="+url.QueryEscape(testPub+"/ui/profile?request=x"))
		b := env.newClient(callerBrowser)
		b.register("barbara@example.com", "Barbara", "Liskov")
		wantRedirect(t, b.get(DefaultPublicPrefix+"/ui/profile"), testPub+"/self-service/browser/flows/profile")
		_, mine := b.follow(DefaultPublicPrefix + "/self-service/browser/flows/profile")
		if !strings.Contains(mine, siteurl.ProfilePath+"?request=") {
			t.Fatalf("landed at %s", mine)
		}
		o := env.newClient(callerBrowser)
		o.register("edsger@example.com", "Edsger", "Dijkstra")
		for _, target := range []string{mine, DefaultPublicPrefix + "/ui/profile?request=" + identity.NewID()} {
			page := checkPage(t, o, o.get(target), http.StatusForbidden)
			wantIn(t, page, html.EscapeString(apierror.ProfileAccess.Reason), `>Open your profile again</a>`)
		}
	})

	t.Run("error and unknown pages", func(t *testing.T) {
		b := env.newClient(callerBrowser)
		page := checkPageNoCSRF(t, b.get(DefaultPublicPrefix+"/ui/error?id="+identity.NewID()), http.StatusNotFound)
		wantIn(t, page, "This error could not be found.")
		checkPageNoCSRF(t, b.get(DefaultPublicPrefix+"/ui/error"), http.StatusNotFound)
		for _, p := range []string{"/ui/nope", "/ui/welcome", "/ui/login/", "/ui/"} {
			rec := b.get(DefaultPublicPrefix + p)
			if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") ||
				!strings.Contains(rec.Body.String(), `"code":404`) {
				t.Errorf("%s: %d %s %s", p, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		}
	})
}

// checkPageNoCSRF checks a page of a browser without cookies.
func checkPageNoCSRF(t *testing.T, rec *answer, status int) string {
	t.Helper()
	if rec.Code != status || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
		rec.Header().Get("Content-Security-Policy") != uiCSPBase {
		t.Fatalf("got %d %q %q, want %d HTML\n%s", rec.Code, rec.Header().Get("Content-Type"),
			rec.Header().Get("Content-Security-Policy"), status, rec.Body)
	}
	return rec.Body.String()
}

func TestUILegacyProfileWalkthrough(t *testing.T) {
	env := newFlowEnv(t, withSchema(uiTestSchema))
	b := env.newClient(callerBrowser)
	b.register("foobar@ory.sh", "Foobar", "Barbaz")

	// 1-2: the init redirects to the profile UI with ?request=.
	rec := b.get(DefaultPublicPrefix + "/self-service/browser/flows/profile")
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), testPub+siteurl.ProfilePath+"?request=") {
		t.Fatalf("init: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	at := rec.Header().Get("Location")
	reqID := flowParam(t, at, "request")
	// 3: the page shows the request's fields, in schema order.
	page := checkPage(t, b, b.get(at), http.StatusOK)
	wantIn(t, page,
		`<form id="profile" method="POST" action="`+testPub+`/self-service/browser/flows/profile/update?request=`+reqID+`">`,
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
	rec, at2 := b.submitForm(page, "profile", "", url.Values{"traits.name.first": {"abc"}})
	if at2 != at {
		t.Fatalf("after the update: at %s, want %s", at2, at)
	}
	page = checkPage(t, b, rec, http.StatusOK)
	first := fieldBlock(t, page, "traits.name.first")
	wantIn(t, first, `value="abc"`, `aria-invalid="true"`,
		`<li class="message error">traits.name.first: Must be at least 5 characters long</li>`)
	wantNotIn(t, page, "Your changes have been saved!")

	// Valid data: saved.
	rec, _ = b.submitForm(page, "profile", "", url.Values{"traits.name.first": {"Foobarbaz"}})
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `<p class="message success" role="status" data-message-id="1050001">Your changes have been saved!</p>`,
		`name="traits.name.first" type="text" value="Foobarbaz">`)
	if got := env.holder("foobar@ory.sh").Traits["name"].(map[string]any)["first"]; got != "Foobarbaz" {
		t.Errorf("stored first name %v", got)
	}
}

func TestUIEscaping(t *testing.T) {
	env := newFlowEnv(t, withSchema(uiTestSchema))
	b := env.newClient(callerBrowser)
	evil := `<script>alert("x")</script>`
	b.register("ada@example.com", "Augusta", evil)
	rec, _ := b.follow(DefaultPublicPrefix + "/self-service/settings/browser")
	page := checkPage(t, b, rec, http.StatusOK) // checkPage fails on any <script
	wantIn(t, page, `value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`)
	rec, _ = b.follow(DefaultPublicPrefix + "/self-service/browser/flows/profile")
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`)

	// Errors echo the value too.
	rec, _ = b.submitForm(page, "profile", "", url.Values{"traits.name.first": {evil}})
	checkPage(t, b, rec, http.StatusOK)
}

func TestUIErrorPage(t *testing.T) {
	_, b := signedUpAda(t)
	rec, _ := b.open(DefaultPublicPrefix+"/self-service/logout?token=not-the-token", siteurl.ErrorPath+"?id=")
	page := checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `<title>Something went wrong</title>`,
		`<span class="error-code">403</span> Forbidden`,
		`<p class="error-reason">Unable to log out because the logout token in the URL query does not match the session cookie.</p>`,
		`<a href="`+testHost+`/">Back to the site</a>`)
	wantNotIn(t, page, "<form")
}

func TestUIStylesheet(t *testing.T) {
	env := newFlowEnv(t, withSchema(uiTestSchema))
	b := env.newClient(callerBrowser)
	rec := b.get(DefaultPublicPrefix + "/ui/style.css?v=" + pages.CSSVersion)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(rec.Header().Get("Cache-Control"), "public") || !bytes.Equal(rec.Body.Bytes(), pages.CSS) {
		t.Fatalf("style.css: %d %v", rec.Code, rec.Header())
	}
	etag := rec.Header().Get("ETag")
	if rec := b.get(DefaultPublicPrefix+"/ui/style.css", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}

	for _, tc := range []struct{ sheet, csp string }{
		{"https://cdn.example.net/brand/site.css", "default-src 'none'; style-src 'self' https://cdn.example.net; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
		{"/assets/site.css", uiCSPBase},
	} {
		env := newFlowEnv(t, withSchema(uiTestSchema), func(c *Config) { c.UIStylesheet = tc.sheet })
		b := env.newClient(callerBrowser)
		rec, _ := b.follow(DefaultPublicPrefix + "/self-service/login/browser")
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
	env := newFlowEnv(t, withSchema(uiTestSchema), func(c *Config) {
		c.AllowedReturnURLs = []string{"https://app.example.org/welcome", "http://example.com/same"}
		c.UI.Error = "https://errors.example.org/oops"
	})
	b := env.newClient(callerBrowser)
	rec, _ := b.follow(DefaultPublicPrefix + "/self-service/login/browser")
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
	english := mustLocale(t).Get("en")
	p := &pages.Page{Title: "t", Heading: "t", Forms: pages.NodeForms(english, ui, "f")}
	if err := pages.Execute(&buf, english, p); err != nil {
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

func mustLocale(t *testing.T) *locale.Catalog {
	t.Helper()
	c, err := locale.Load(locale.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
