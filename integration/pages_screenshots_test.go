package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

// view is a browser's language and window width.
type view struct {
	lang  string
	width int64
}

func (v view) String() string { return fmt.Sprintf("%s-%d", v.lang, v.width) }

// emulate makes the tab a browser of this language and width (a phone
// below 500 px).
func (b *tab) emulate(v view) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.budget, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (struct{}, error) {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return struct{}{}, err
		}
		if _, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": v.lang}}); err != nil {
			return struct{}{}, err
		}
		_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: v.width, Height: 900, DeviceScaleFactor: 1, Mobile: v.width < 500})
		return struct{}{}, err
	})
	if err != nil {
		b.t.Fatalf("emulate %s: %v", v, err)
	}
}

// TestBuiltinPagesScreenshots shows every built-in page state (sign-in and
// its error, sign-up, recovery, settings, re-authentication, an error) in
// English and German, at 1280 and 375 px, saves a screenshot of each under
// integration/artifacts/TestBuiltinPagesScreenshots/ and checks the words
// people read.
func TestBuiltinPagesScreenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium; skipped by -short, run by make test")
	}
	s := startSite(t, "privileged_session_max_age 10m\n\t\tcourier {\n\t\t\tmailbox\n\t\t}")
	b := newTab(t)
	views := []view{{"en", 1280}, {"de", 1280}, {"en", 375}, {"de", 375}}
	words := map[string]map[string]string{
		"en": {"sign-in": "Sign in", "sign-in-error": "The sign-in details are wrong.", "sign-up": "Create an account",
			"recovery": "Recover your account", "error": "Something went wrong", "settings": "Account settings",
			"settings-devices": "Your devices", "reauth": "Confirm it's you", "reauth-why": "to change your E-Mail."},
		"de": {"sign-in": "Anmelden", "sign-in-error": "Die Anmeldedaten sind falsch.", "sign-up": "Konto anlegen",
			"recovery": "Konto wiederherstellen", "error": "Etwas ist schiefgelaufen", "settings": "Kontoeinstellungen",
			"settings-devices": "Ihre Geräte", "reauth": "Bestätigen Sie, dass Sie es sind", "reauth-why": "Um E-Mail zu ändern, geben Sie Ihr Passwort erneut ein."},
	}
	// shot waits for the page's heading, checks its words and saves it.
	shot := func(v view, name string, more ...string) {
		t.Helper()
		heading := words[v.lang][name]
		b.waitFor(name+" "+v.String(), `document.querySelector("h1") && document.querySelector("h1").textContent.includes(`+js(heading)+`) && document.documentElement.lang === `+js(v.lang))
		for _, key := range more {
			if w := words[v.lang][key]; !containsText(b, w) {
				t.Errorf("%s %s: %q is not on the page:\n%s", name, v, w, b.pageText())
			}
		}
		b.saveArtifacts(name + "-" + v.String())
	}

	for _, v := range views {
		b.emulate(v)
		b.open(s.kratos() + "/self-service/login/browser")
		shot(v, "sign-in")
		b.fill(`[name="identifier"]`, "nobody@example.com")
		b.fill(`[name="password"]`, "not the password")
		b.markPage()
		b.submitMethod("password", "password")
		b.waitNewPage("the sign-in error", `document.querySelector(".message.error")`)
		if w := words[v.lang]["sign-in-error"]; !containsText(b, w) {
			t.Errorf("sign-in error %s: %q missing:\n%s", v, w, b.pageText())
		}
		b.saveArtifacts("sign-in-error-" + v.String())
		b.open(s.kratos() + "/self-service/registration/browser")
		shot(v, "sign-up")
		b.open(s.kratos() + "/self-service/recovery/browser")
		shot(v, "recovery")
		b.open(s.kratos() + "/ui/error?id=00000000-0000-4000-8000-000000000000")
		shot(v, "error")
	}

	email := browserEmail("screens")
	registerAPI(t, s, email, browserPassword)
	b.emulate(views[0])
	b.open(s.kratos() + "/self-service/login/browser")
	b.fill(`[name="identifier"]`, email)
	b.fill(`[name="password"]`, browserPassword)
	b.markPage()
	b.submitMethod("password", "password")
	b.waitNewPage("signed in", `!location.pathname.includes("/ui/login")`)
	for _, v := range views {
		b.emulate(v)
		b.open(s.kratos() + "/self-service/settings/browser")
		shot(v, "settings", "settings-devices")
	}
	restore := caddymodule.AdvanceClockForTest(11 * time.Minute)
	defer restore()
	for _, v := range views {
		b.emulate(v)
		b.open(s.kratos() + "/self-service/settings/browser")
		b.waitFor("settings "+v.String(), `document.querySelector('[name="traits.email"]')`)
		b.fill(`[name="traits.email"]`, "new-"+email)
		b.markPage()
		b.submitMethod("traits.email", "profile")
		b.waitNewPage("the re-authentication page", `location.pathname.includes("/ui/login")`)
		shot(v, "reauth", "reauth-why")
	}
	if dir, err := filepath.Abs(b.artifactsDir()); err == nil {
		entries, _ := os.ReadDir(dir)
		t.Logf("%d files in %s", len(entries), dir)
	}
}

// containsText reports whether the page's text holds s.
func containsText(b *tab, s string) bool {
	var ok bool
	b.eval("look for "+s, `document.body.innerText.includes(`+js(s)+`)`, &ok)
	return ok
}
