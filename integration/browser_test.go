package integration

// Real-browser tests: headless Chromium against the demo (Caddyfile.example
// in an in-process Caddy, its store switched to a real redis-server), once
// through the built-in UI pages (links and plain forms, no JavaScript of
// ours) and once through the SPA example (example/spa). Each walks the same
// story: sign up, sign out, sign in, a profile edit refused with the error
// next to the field and then saved, an email change that needs a
// re-authentication, the demo app showing the new email, sign out.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

const (
	browserPassword = "correct horse battery staple"
	// privilegedAge is the demo's privileged_session_max_age in these
	// tests: before the email change the handlers' clock is moved past it.
	privilegedAge = 10 * time.Minute
	// minLengthText is Kratos' text of the JSON API (the SPA shows it);
	// pageMinLengthText the built-in pages' words for people.
	minLengthText     = "length must be >= 5"
	pageMinLengthText = "At least 5 characters."
	savedText         = "Your changes have been saved!"
)

// browserEmail is a fresh address per run.
func browserEmail(who string) string {
	return fmt.Sprintf("%s.%d@example.com", who, time.Now().UnixNano()%1_000_000)
}

// wantApp loads the demo app through the site and checks whom it shows:
// the email (or "" for signed out) and, when given, the identity id.
func wantApp(t *testing.T, b *tab, s *site, email, identityID string) {
	t.Helper()
	b.markPage()
	b.open(s.public + "/")
	b.waitNewPage("the demo app", `document.getElementById("app-status")`)
	status := b.text("#app-status")
	if email == "" {
		if !strings.Contains(status, "Not signed in") || b.text("#app-identity-id") != "(none)" {
			t.Fatalf("the app should see no identity: %q\n%s", status, b.pageText())
		}
		return
	}
	if got := b.text("#app-email"); got != email {
		t.Fatalf("the app shows %q, want %q\n%s", got, email, b.pageText())
	}
	if identityID != "" && b.text("#app-identity-id") != identityID {
		t.Fatalf("the app got identity %q, want %q", b.text("#app-identity-id"), identityID)
	}
	// Both ways of passing the email reach the app: the identity headers
	// (X-Kratos-Identity-Traits, decoded by the app's template) and the
	// header_up placeholder {http.kratos.identity.traits.email}.
	if got := b.text("#app-traits-json"); !strings.Contains(got, `"email":"`+email+`"`) {
		t.Fatalf("the app's decoded X-Kratos-Identity-Traits is %q, want the email %s", got, email)
	}
	if got := b.text("#app-demo-email"); got != email {
		t.Fatalf("the app's X-Demo-Email (header_up placeholder) is %q, want %s", got, email)
	}
	if b.text("#app-session-id") == "(none)" {
		t.Fatalf("the app got no X-Kratos-Session-Id")
	}
}

// whoamiID is the identity id of the browser's session.
func whoamiID(t *testing.T, b *tab, s *site) string {
	t.Helper()
	status, body := b.fetchJSON(s.kratos() + "/sessions/whoami")
	id, _ := get(body, "identity", "id").(string)
	if status != 200 || id == "" {
		t.Fatalf("whoami: %d %v", status, body)
	}
	return id
}

// TestBrowserBuiltinUI walks the story through the built-in UI pages: the
// app's links, the pages under /.ory/kratos/public/ui/ and their forms.
func TestBrowserBuiltinUI(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium; skipped by -short, run by make test")
	}
	s := startDemoSite(t, privilegedAge.String())
	b := newTab(t)
	ui := s.kratos() + "/ui/"
	email, newEmail := browserEmail("ada"), browserEmail("ada.lovelace")

	// Sign up from the app's link.
	wantApp(t, b, s, "", "")
	b.markPage()
	b.click("#link-registration")
	b.waitNewPage("the registration page", `location.href.startsWith(`+js(ui+"registration?flow=")+`) && document.querySelector('[name="traits.email"]')`)
	b.checkpoint("registration")
	b.fill(`[name="traits.email"]`, email)
	b.fill(`[name="password"]`, browserPassword)
	b.fill(`[name="traits.name.first"]`, "Adaline")
	b.markPage()
	b.submitMethod("password", "password")
	b.waitNewPage("the app after sign-up", `document.getElementById("app-status")`)
	b.checkpoint("app-after-registration")
	id := whoamiID(t, b, s)
	wantApp(t, b, s, email, id)

	signOut := func() {
		t.Helper()
		// The settings page offers the sign-out (a logout URL with the
		// session's logout token).
		b.markPage()
		b.click("#link-settings")
		b.waitNewPage("the settings page", `location.href.startsWith(`+js(ui+"settings?flow=")+`)`)
		b.checkpoint("settings-before-sign-out")
		var found bool
		b.eval("find the sign-out", `(() => {
			const el = document.querySelector('a[href*="/self-service/logout?token="], form[action*="/self-service/logout"] [type=submit]')
				|| [...document.querySelectorAll("a, button")].find(e => /sign out|log ?out/i.test(e.textContent));
			if (!el) return false;
			el.setAttribute("data-browser-test-signout", "");
			return true;
		})()`, &found)
		if !found {
			t.Fatalf("the settings page offers no sign-out (a link to the logout URL or a Sign out button):\n%s", b.pageText())
		}
		b.markPage()
		b.click(`[data-browser-test-signout]`)
		b.waitNewPage("the app after sign-out", `document.getElementById("app-status")`)
		if st, _ := b.fetchJSON(s.kratos() + "/sessions/whoami"); st != 401 {
			t.Fatalf("whoami after sign-out: %d", st)
		}
		wantApp(t, b, s, "", "")
	}
	signOut()

	// Sign in from the app's link.
	b.markPage()
	b.click("#link-login")
	b.waitNewPage("the login page", `location.href.startsWith(`+js(ui+"login?flow=")+`) && document.querySelector('[name="password"]')`)
	b.checkpoint("login")
	b.fill(`[name="identifier"]`, email)
	b.fill(`[name="password"]`, browserPassword)
	b.markPage()
	b.submitMethod("password", "password")
	b.waitNewPage("the app after sign-in", `document.getElementById("app-status")`)
	wantApp(t, b, s, email, id)

	// A profile edit the schema refuses: the error is next to the field.
	b.markPage()
	b.click("#link-settings")
	b.waitNewPage("the settings page", `location.href.startsWith(`+js(ui+"settings?flow=")+`) && document.querySelector('[name="traits.name.first"]')`)
	if got := b.value(`[name="traits.email"]`); got != email {
		t.Fatalf("settings shows email %q, want %q", got, email)
	}
	b.fill(`[name="traits.name.first"]`, "Ada")
	b.markPage()
	b.submitMethod("traits.name.first", "profile")
	b.waitNewPage("the settings page with the error", `document.body.textContent.includes(`+js(pageMinLengthText)+`)`)
	b.checkpoint("settings-validation-error")
	b.wantMessageNextTo("traits.name.first", pageMinLengthText)
	if got := b.value(`[name="traits.name.first"]`); got != "Ada" {
		t.Fatalf("the refused value is not kept in the form: %q", got)
	}

	// Corrected: saved.
	b.fill(`[name="traits.name.first"]`, "Adaline")
	b.markPage()
	b.submitMethod("traits.name.first", "profile")
	b.waitNewPage("the settings page after saving", `document.body.textContent.includes(`+js(savedText)+`)`)
	if strings.Contains(b.pageText(), pageMinLengthText) {
		t.Fatalf("the old error is still shown:\n%s", b.pageText())
	}

	// The email change on a session older than privileged_session_max_age
	// is paused for a re-authentication, then held until the code mailed
	// to the new address is entered.
	t.Cleanup(caddymodule.AdvanceClockForTest(privilegedAge + time.Minute))
	b.fill(`[name="traits.email"]`, newEmail)
	b.markPage()
	b.submitMethod("traits.email", "profile")
	b.waitNewPage("the re-authentication page", `location.href.startsWith(`+js(ui+"login?flow=")+`) && document.querySelector('[name="password"]')`)
	b.checkpoint("refresh-login")
	if !strings.Contains(b.pageText(), "Please confirm this action by verifying that it is you.") {
		t.Fatalf("the refresh login does not say why:\n%s", b.pageText())
	}
	if st, who := b.fetchJSON(s.kratos() + "/sessions/whoami"); st != 200 || get(who, "identity", "traits", "email") != email {
		t.Fatalf("the email changed before the re-authentication: %d %v", st, who)
	}
	b.fill(`[name="password"]`, browserPassword)
	b.markPage()
	b.submitMethod("password", "password")
	b.waitNewPage("the settings page after the re-authentication", `location.href.startsWith(`+js(ui+"settings?flow=")+`) && document.body.textContent.includes(`+js("We sent a code to "+newEmail)+`)`)
	b.checkpoint("settings-change-held")
	if st, who := b.fetchJSON(s.kratos() + "/sessions/whoami"); st != 200 || get(who, "identity", "traits", "email") != email {
		t.Fatalf("the email changed before its code was entered: %d %v", st, who)
	}
	b.markPage()
	b.eval("follow Enter the code", `(() => { const a = [...document.querySelectorAll("a")].find(e => e.textContent === "Enter the code"); if (a) a.click(); return !!a })()`, nil)
	b.waitNewPage("the verification page", `document.querySelector('[name="code"]')`)
	b.fill(`[name="code"]`, mailedCode(t, s, newEmail, "verification_code_valid"))
	b.markPage()
	b.submitMethod("code", "code")
	b.waitNewPage("the address verified", `document.querySelector(".message.success")`)
	b.checkpoint("verification-passed")
	if st, who := b.fetchJSON(s.kratos() + "/sessions/whoami"); st != 200 || get(who, "identity", "traits", "email") != newEmail {
		t.Fatalf("whoami after the code: %d %v", st, who)
	}

	// The app sees the new email on the next request.
	wantApp(t, b, s, newEmail, id)
	b.checkpoint("app-new-email")

	signOut()
}

// TestBrowserSPA walks the story through the SPA example at /spa/.
func TestBrowserSPA(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium; skipped by -short, run by make test")
	}
	s := startDemoSite(t, privilegedAge.String())
	b := newTab(t)
	spa := s.public + "/spa/"
	email, newEmail := browserEmail("grace"), browserEmail("grace.hopper")
	visible := func(id string) string {
		return `(document.getElementById(` + js(id) + `) && !document.getElementById(` + js(id) + `).closest("[hidden]"))`
	}

	b.open(spa)
	b.waitFor("the SPA home, signed out", visible("home-signed-out"))
	b.checkpoint("spa-home")

	// Sign up.
	b.click("#home-registration")
	b.waitFor("the registration form", `document.querySelector('#registration-form [name="traits.email"]')`)
	b.checkpoint("spa-registration")
	b.fill(`#registration-form [name="traits.email"]`, email)
	b.fill(`#registration-form [name="password"]`, browserPassword)
	b.fill(`#registration-form [name="traits.name.first"]`, "Grace")
	b.click(`#registration-form [data-testid="submit-password"]`)
	// The new address gets a verification code: the SPA shows its form.
	b.waitFor("the verification form after sign-up", `document.querySelector('#verification-form [name="code"]')`)
	b.checkpoint("spa-verification")
	b.fill(`#verification-form [name="code"]`, mailedCode(t, s, email, "verification_code_valid"))
	b.click(`#verification-form [data-testid="submit-code"]`)
	b.waitFor("verified", `document.getElementById("notice").textContent.includes("verified")`)
	if _, who := b.fetchJSON(s.kratos() + "/sessions/whoami"); get(who, "identity", "verifiable_addresses", 0, "verified") != true {
		t.Fatalf("the address is not verified: %v", get(who, "identity", "verifiable_addresses"))
	}
	b.click("#nav-home")
	b.waitFor("signed in after sign-up", visible("home-signed-in")+` && document.getElementById("whoami-email").textContent === `+js(email))
	b.checkpoint("spa-signed-up")
	id := b.text("#whoami-id")
	if id != whoamiID(t, b, s) {
		t.Fatalf("the SPA shows identity %q", id)
	}

	// Sign out, sign in.
	b.click("#home-logout")
	b.waitFor("signed out", visible("home-signed-out")+` && document.getElementById("notice").textContent.includes("signed out")`)
	if st, _ := b.fetchJSON(s.kratos() + "/sessions/whoami"); st != 401 {
		t.Fatalf("whoami after the SPA's sign-out: %d", st)
	}
	b.click("#home-login")
	b.waitFor("the login form", `document.querySelector('#login-form [name="identifier"]')`)
	b.fill(`#login-form [name="identifier"]`, email)
	b.fill(`#login-form [name="password"]`, "not the password")
	b.click(`#login-form [data-testid="submit-password"]`)
	b.waitFor("the wrong password refused", `document.getElementById("flow-messages").textContent.includes("The provided credentials are invalid")`)
	b.fill(`#login-form [name="password"]`, browserPassword)
	b.click(`#login-form [data-testid="submit-password"]`)
	b.waitFor("signed in", visible("home-signed-in")+` && document.getElementById("whoami-email").textContent === `+js(email))

	// A profile edit the schema refuses, then the corrected one.
	b.click("#home-settings")
	b.waitFor("the profile form", `document.querySelector('#settings-profile-form [name="traits.name.first"]')`)
	if got := b.value(`#settings-profile-form [name="traits.email"]`); got != email {
		t.Fatalf("the profile form shows email %q", got)
	}
	var settingsFlow string
	b.eval("the settings flow id", `document.getElementById("view-flow").dataset.flowId`, &settingsFlow)
	b.fill(`#settings-profile-form [name="traits.name.first"]`, "Gra")
	b.click(`#settings-profile-form [data-testid="submit-profile"]`)
	b.waitFor("the field error", `document.querySelector('[data-testid="messages-traits.name.first"]') && document.querySelector('[data-testid="messages-traits.name.first"]').textContent.includes(`+js(minLengthText)+`)`)
	b.checkpoint("spa-validation-error")
	b.wantMessageNextTo("traits.name.first", minLengthText)
	var invalid string
	b.eval("aria-invalid", `document.querySelector('#settings-profile-form [name="traits.name.first"]').getAttribute("aria-invalid") || ""`, &invalid)
	if invalid != "true" {
		t.Fatalf("the refused field is not marked aria-invalid")
	}
	b.fill(`#settings-profile-form [name="traits.name.first"]`, "Grace")
	b.click(`#settings-profile-form [data-testid="submit-profile"]`)
	b.waitFor("saved", `document.getElementById("flow-messages").textContent.includes(`+js(savedText)+`) && !document.querySelector('[data-testid="messages-traits.name.first"] li')`)

	// The email change: 403 session_refresh_required, the password, then the
	// same flow submitted again unchanged.
	t.Cleanup(caddymodule.AdvanceClockForTest(privilegedAge + time.Minute))
	b.fill(`#settings-profile-form [name="traits.email"]`, newEmail)
	b.click(`#settings-profile-form [data-testid="submit-profile"]`)
	b.waitFor("the re-authentication", visible("view-refresh")+` && document.querySelector('#refresh-form [name="password"]')`)
	b.checkpoint("spa-refresh")
	if st, who := b.fetchJSON(s.kratos() + "/sessions/whoami"); st != 200 || get(who, "identity", "traits", "email") != email {
		t.Fatalf("the email changed before the re-authentication: %d %v", st, who)
	}
	b.fill(`#refresh-form [name="password"]`, browserPassword)
	b.click(`#refresh-form [data-testid="submit-password"]`)
	// The same flow, submitted again, holds the change until the code
	// mailed to the new address is entered.
	b.waitFor("the code form for the new address", `document.querySelector('#verification-form [name="code"]')`)
	b.checkpoint("spa-email-change-held")
	if st, who := b.fetchJSON(s.kratos() + "/sessions/whoami"); st != 200 || get(who, "identity", "traits", "email") != email {
		t.Fatalf("the email changed before its code: %d %v", st, who)
	}
	if _, flow := b.fetchJSON(s.kratos() + "/self-service/settings/flows?id=" + settingsFlow); flow["id"] != settingsFlow {
		t.Fatalf("the held change's flow: %v", flow)
	}
	b.fill(`#verification-form [name="code"]`, mailedCode(t, s, newEmail, "verification_code_valid"))
	b.click(`#verification-form [data-testid="submit-code"]`)
	b.waitFor("verified", `document.getElementById("notice").textContent.includes("verified")`)
	b.checkpoint("spa-email-changed")
	if st, who := b.fetchJSON(s.kratos() + "/sessions/whoami"); st != 200 || get(who, "identity", "traits", "email") != newEmail {
		t.Fatalf("whoami after the change: %d %v", st, who)
	}

	// The app sees the new email on the next request.
	wantApp(t, b, s, newEmail, id)
	b.checkpoint("spa-app-new-email")

	// Sign out from the SPA.
	b.open(spa)
	b.waitFor("the SPA home, signed in", visible("home-signed-in")+` && document.getElementById("whoami-email").textContent === `+js(newEmail))
	b.click("#nav-logout")
	b.waitFor("signed out", visible("home-signed-out"))
	wantApp(t, b, s, "", "")

	// Forgot the password: a code by mail signs in, then a new password.
	b.open(spa + "#/login")
	b.waitFor("the login form", `document.getElementById("flow-alt-recovery")`)
	b.click("#flow-alt-recovery")
	b.waitFor("the recovery form", `document.querySelector('#recovery-form [name="email"]')`)
	b.fill(`#recovery-form [name="email"]`, newEmail)
	b.click(`#recovery-form [data-testid="submit-code"]`)
	b.waitFor("the code form", `document.querySelector('#recovery-form [name="code"]')`)
	b.fill(`#recovery-form [name="code"]`, mailedCode(t, s, newEmail, "recovery_code_valid"))
	b.click(`#recovery-form [data-testid="submit-code"]`)
	b.waitFor("signed in to choose a password", `document.querySelector('#settings-password-form [name="password"]')`)
	b.checkpoint("spa-recovered")
	const recoveredPassword = "a brand new passphrase 2026"
	b.fill(`#settings-password-form [name="password"]`, recoveredPassword)
	b.click(`#settings-password-form [data-testid="submit-password"]`)
	b.waitFor("the new password saved", `document.getElementById("flow-messages").textContent.includes(`+js(savedText)+`)`)
	b.open(spa)
	b.waitFor("the SPA home, signed in", visible("home-signed-in"))
	b.click("#nav-logout")
	b.waitFor("signed out", visible("home-signed-out"))
	b.click("#home-login")
	b.waitFor("the login form", `document.querySelector('#login-form [name="identifier"]')`)
	b.fill(`#login-form [name="identifier"]`, newEmail)
	b.fill(`#login-form [name="password"]`, recoveredPassword)
	b.click(`#login-form [data-testid="submit-password"]`)
	b.waitFor("signed in with the new password", visible("home-signed-in")+` && document.getElementById("whoami-email").textContent === `+js(newEmail))
}

// mailedCode waits (at most 20 s) for the demo courier's newest mail of a
// template type to an address, read through the admin API (the demo's
// mailbox shows bodies), and returns the 6-digit code in it.
func mailedCode(t *testing.T, s *site, to, templateType string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res := do(t, browser(t), "GET", s.admin+"/admin/courier/messages", nil)
		var list []map[string]any
		_ = json.Unmarshal(res.body, &list)
		for _, m := range list {
			if m["recipient"] == to && m["template_type"] == templateType {
				if code := sixDigits.FindString(fmt.Sprint(m["body"])); code != "" {
					return code
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s mail with a code to %s", templateType, to)
	return ""
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// TestDemoCaddyfile: Caddyfile.example adapts, uses the memory store by
// default, and KRATOS_STORE switches both kratos handlers to Redis.
func TestDemoCaddyfile(t *testing.T) {
	raw, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	adapt := func() []byte {
		t.Helper()
		conf, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(raw, nil)
		if err != nil {
			t.Fatalf("adapt Caddyfile.example: %v", err)
		}
		for _, w := range warnings {
			t.Errorf("Caddyfile.example: warning %s", w.Message)
		}
		return conf
	}
	t.Setenv("KRATOS_STORE", "")
	os.Unsetenv("KRATOS_STORE")
	conf := adapt()
	if n := bytes.Count(conf, []byte(`"type":"memory"`)); n != 2 {
		t.Fatalf("want 2 memory stores by default, got %d:\n%s", n, conf)
	}
	for _, want := range []string{`"identity_headers":true`, `"admin":true`, `"templates"`, `"file_server"`, `{http.kratos.identity.traits.email}`} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Errorf("the demo config lacks %s", want)
		}
	}
	t.Setenv("KRATOS_STORE", "redis redis://127.0.0.1:6379/0")
	conf = adapt()
	if n := bytes.Count(conf, []byte(`"urls":["redis://127.0.0.1:6379/0"]`)); n != 2 || bytes.Contains(conf, []byte(`"type":"memory"`)) {
		t.Fatalf("KRATOS_STORE did not switch both handlers to redis:\n%s", conf)
	}
}
