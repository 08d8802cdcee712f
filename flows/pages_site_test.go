package flows

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/locale"
	"github.com/seed06f30684/caddy-kratos/pages"
)

// A site's own template (one part of the page) and translation (one
// text), from directories, and its name and logo on every page.
func TestUISiteTemplatesTranslationsAndIdentity(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("messages.html", `{{define "messages"}}{{range .}}<p class="site-message" data-id="{{.ID}}">{{.Text}}</p>{{end}}{{end}}`)
	write("de.json", `{"strings": {"login.title": "Einloggen"}}`)
	tmpl, err := pages.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	lang, err := locale.Load(locale.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	env, _ := signedUpAda(t)
	e := newFlowEnv(t, withSchema(uiTestSchema), func(c *Config) {
		c.UITemplates, c.Locale, c.UISiteName, c.UILogo = tmpl, lang, "Example Shop", "https://cdn.example.com/logo.svg"
		c.Store = env.store
	})
	b := e.newClient(callerBrowser)
	b.lang = "de"
	rec, _ := b.follow(DefaultPublicPrefix + "/self-service/login/browser")
	if rec.Code != http.StatusOK {
		t.Fatalf("login page: %d", rec.Code)
	}
	page := rec.Body.String()
	wantIn(t, page, `<title>Einloggen · Example Shop</title>`, `<h1 id="page-heading">Einloggen</h1>`,
		`<img class="site-logo" src="https://cdn.example.com/logo.svg" alt="">`, `<span class="site-name">Example Shop</span>`)
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https://cdn.example.com") {
		t.Errorf("CSP %q does not allow the logo", csp)
	}
	rec, _ = b.submitForm(page, "login", "method", url.Values{"identifier": {"ada@example.com"}, "password": {"wrong"}})
	wantIn(t, rec.Body.String(), `<p class="site-message" data-id="4000006">Die Anmeldedaten sind falsch.`)
}

func TestLoadTemplatesErrorNamesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "page.html")
	if err := os.WriteFile(path, []byte(`{{define "form"}}{{.Nope`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pages.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v does not name %s", err, path)
	}
	if _, err := pages.LoadTemplates(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.html") {
		t.Fatalf("empty directory: %v", err)
	}
}

// A refused browser submit (a CSRF failure) shows the error page with a
// way forward: the flow started again, with the same return_to.
func TestUIErrorPageStartAgain(t *testing.T) {
	env, _ := signedUpAda(t)
	b := env.newClient(callerBrowser)
	rec, _ := b.follow(DefaultPublicPrefix + "/self-service/login/browser?return_to=/after")
	page := checkPage(t, b, rec, http.StatusOK)
	rec, at := b.submitForm(page, "login", "method", url.Values{"identifier": {"ada@example.com"}, "password": {testPassword}, "csrf_token": {"not-the-token"}})
	if !strings.Contains(at, "/ui/error?id=") {
		t.Fatalf("landed at %s", at)
	}
	restart := testPub + "/self-service/login/browser?return_to=" + url.QueryEscape(testHost+"/after")
	wantIn(t, rec.Body.String(), `<a href="`+strings.ReplaceAll(restart, "&", "&amp;")+`">Start again</a>`)
}

// An expired registration or settings form, submitted, comes back as a new
// flow that keeps what was typed, never the password; without the CSRF
// token nothing typed is kept.
func TestExpiredFlowKeepsWhatWasTyped(t *testing.T) {
	env, b := signedUpAda(t)
	reg := env.newClient(callerBrowser)
	rec, _ := reg.follow(DefaultPublicPrefix + "/self-service/registration/browser")
	page := checkPage(t, reg, rec, http.StatusOK)
	env.clock.Add(DefaultFlowLifespan + time.Minute)
	rec, at := reg.submitForm(page, "registration", "method", url.Values{
		"traits.email": {"grace@example.com"}, "traits.name.first": {"Grace"}, "password": {testPassword}})
	page = checkPage(t, reg, rec, http.StatusOK)
	if !strings.Contains(at, siteurl.RegistrationPath) || !strings.Contains(page, `data-message-id="4040001"`) {
		t.Fatalf("at %s:\n%s", at, page)
	}
	wantIn(t, fieldBlock(t, page, "traits.email"), `value="grace@example.com"`)
	wantIn(t, fieldBlock(t, page, "traits.name.first"), `value="Grace"`)
	if strings.Contains(page, testPassword) {
		t.Error("the password came back")
	}

	rec, _ = b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
	page = rec.Body.String()
	env.clock.Add(DefaultFlowLifespan + time.Minute)
	rec, _ = b.submitForm(page, "settings-profile", "method", url.Values{"traits.name.first": {"Augustina"}})
	wantIn(t, fieldBlock(t, checkPage(t, b, rec, http.StatusOK), "traits.name.first"), `value="Augustina"`)

	// Without the form's CSRF token: a new flow, nothing carried over.
	rec, _ = b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
	page = rec.Body.String()
	env.clock.Add(DefaultFlowLifespan + time.Minute)
	rec, _ = b.submitForm(page, "settings-profile", "method", url.Values{"traits.name.first": {"Mallory"}, "csrf_token": {"forged"}})
	if strings.Contains(rec.Body.String(), "Mallory") {
		t.Error("a submit without the CSRF token filled the replacement form")
	}
}
