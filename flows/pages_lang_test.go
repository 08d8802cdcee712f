package flows

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// The built-in pages speak the language Accept-Language asks for, of
// those enabled (English and German by default), messages included; the
// JSON API keeps Kratos' English.
func TestUIPagesInGerman(t *testing.T) {
	env, _ := signedUpAda(t)
	b := env.newClient(callerBrowser)
	b.lang = "de-DE,de;q=0.9,en;q=0.5"

	rec, _ := b.follow(DefaultPublicPrefix + "/self-service/login/browser")
	page := checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `<html lang="de">`, `<title>Anmelden</title>`, `<label for="login-identifier">E-Mail`,
		`<label for="login-password">Passwort`, `<button type="submit" name="method" value="password">Anmelden</button>`,
		`<p>Noch kein Konto? <a href=`, `>Konto anlegen</a>`, `>Zurück zur Website</a>`)
	rec, _ = b.submitForm(page, "login", "method", url.Values{"identifier": {"ada@example.com"}, "password": {"not the password"}})
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `data-message-id="4000006">Die Anmeldedaten sind falsch.`)

	reg := env.newClient(callerBrowser)
	reg.lang = "de"
	rec, _ = reg.follow(DefaultPublicPrefix + "/self-service/registration/browser")
	page = checkPage(t, reg, rec, http.StatusOK)
	rec, at := reg.submitForm(page, "registration", "method", url.Values{
		"traits.email": {"kein-email"}, "traits.name.first": {"Ada"}, "password": {"short"},
	})
	page = checkPage(t, reg, rec, http.StatusOK)
	wantIn(t, fieldBlock(t, page, "traits.name.first"), `data-message-id="4000003">Mindestens 5 Zeichen.</li>`)
	wantIn(t, fieldBlock(t, page, "traits.email"), `data-message-id="4000001">Bitte geben Sie eine gültige E-Mail-Adresse ein.</li>`)
	wantIn(t, fieldBlock(t, page, "password"), `data-message-id="4000032">Mindestens 8 Zeichen.</li>`)

	// The API of the same flow keeps Kratos' texts.
	f := env.storedFlow(flowParam(t, at, "flow"))
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == "traits.name.first" && (len(n.Messages) != 1 || n.Messages[0].Text != "length must be >= 5, but got 3") {
			t.Errorf("the flow's own message: %+v", n.Messages)
		}
	}
}

func TestUISettingsAndReauthWords(t *testing.T) {
	env, b := signedUpAda(t)
	for _, lang := range []string{"", "de"} {
		b.lang = lang
		rec, _ := b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
		page := checkPage(t, b, rec, http.StatusOK)
		if lang == "" {
			wantIn(t, page, `<html lang="en">`, `<title>Account settings</title>`, `<label for="settings-password-password">New password`,
				`<h2 id="devices-heading">Your devices</h2>`, `<strong class="device-current">This device</strong>`, `>Sign out</a>`)
		} else {
			wantIn(t, page, `<html lang="de">`, `<title>Kontoeinstellungen</title>`, `<label for="settings-password-password">Neues Passwort`,
				`<h2 id="devices-heading">Ihre Geräte</h2>`, `<strong class="device-current">Dieses Gerät</strong>`, `>Abmelden</a>`,
				`<h2 id="settings-profile-heading">Profil</h2>`, `<h2 id="settings-password-heading">Passwort ändern</h2>`)
		}
	}

	// A protected change on an old session: the re-authentication page
	// says what it confirms, and its button says so.
	b.lang = ""
	env.clock.Add(DefaultPrivilegedSessionMaxAge + time.Minute)
	rec, _ := b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
	action, form := formOf(t, rec.Body.String(), "settings-profile", "method")
	form.Set("traits.email", "augusta@example.com")
	rec, at := b.followFrom(b.post(action, form), action)
	if !strings.Contains(at, siteurl.LoginPath) {
		t.Fatalf("landed at %s", at)
	}
	page := checkPage(t, b, rec, http.StatusOK)
	wantIn(t, page, `<title>Confirm it&#39;s you</title>`, `<p class="intro">Confirm it&#39;s you to change your E-Mail.</p>`,
		`<button type="submit" name="method" value="password">Confirm</button>`)
}

// A paused password change: the re-authentication page says so, in the
// browser's language.
func TestUIReauthNamesThePassword(t *testing.T) {
	env, b := signedUpAda(t)
	b.lang = "de"
	env.clock.Add(DefaultPrivilegedSessionMaxAge + time.Minute)
	rec, _ := b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
	action, form := formOf(t, rec.Body.String(), "settings-password", "method")
	form.Set("password", "a brand new passphrase 42")
	rec, _ = b.followFrom(b.post(action, form), action)
	wantIn(t, checkPage(t, b, rec, http.StatusOK), `<p class="intro">Um Ihr Passwort zu ändern, geben Sie Ihr Passwort erneut ein.</p>`,
		`<button type="submit" name="method" value="password">Bestätigen</button>`)
}
