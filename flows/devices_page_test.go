package flows

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// The settings page's "Your devices": the browser's own session marked,
// the others with a sign-out form each and one for all, CSRF-protected.
func TestSettingsPageDevices(t *testing.T) {
	e := newFlowEnv(t)
	c := e.newClient(callerBrowser)
	c.register(adaEmail, "Ada", "Lovelace")
	ada := e.holder(adaEmail)
	others := e.sessionsAt(ada, 2)

	a, at := c.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath)
	page := a.Body.String()
	if !strings.Contains(page, "Your devices") || strings.Count(page, "This device") != 1 || !strings.Contains(page, "Sign out all other devices") {
		t.Fatalf("settings page without the devices section:\n%s", page)
	}
	for _, tok := range others {
		if !strings.Contains(page, `id="device-`+e.idOf(tok)+`"`) {
			t.Errorf("no sign-out form for session %s", e.idOf(tok))
		}
	}
	if strings.Contains(page, `id="device-`+e.idOf(c.sessionToken())+`"`) {
		t.Error("a sign-out form for the current session")
	}

	// A forged post (no or a wrong CSRF token) changes nothing.
	action, values := formOf(t, page, "device-"+e.idOf(others[0]), "")
	for _, token := range []string{"", "forged"} {
		forged := url.Values{"session_id": {values.Get("session_id")}, "csrf_token": {token}}
		if a := c.post(action, forged); a.Code != http.StatusForbidden {
			t.Errorf("forged post: %d", a.Code)
		}
		if e.session(others[0]) == nil {
			t.Fatal("a forged post signed a device out")
		}
	}

	a, back := c.submitForm(page, "device-"+e.idOf(others[0]), "", nil)
	if a.Code != http.StatusOK || !strings.Contains(back, siteurl.SettingsPath) || flowParam(t, back, "flow") != flowParam(t, at, "flow") {
		t.Fatalf("after signing a device out: %d at %s, want the same settings page", a.Code, back)
	}
	if e.session(others[0]) != nil || e.session(others[1]) == nil || e.session(c.sessionToken()) == nil {
		t.Fatal("want exactly the chosen device signed out")
	}
	if strings.Contains(a.Body.String(), `id="device-`+e.idOf(others[0])+`"`) {
		t.Error("the signed-out device is still listed")
	}

	a, _ = c.submitForm(a.Body.String(), "devices-all", "", nil)
	if a.Code != http.StatusOK || e.session(others[1]) != nil || e.session(c.sessionToken()) == nil {
		t.Fatalf("sign out all others: %d; other usable %v", a.Code, e.session(others[1]) != nil)
	}
	if strings.Contains(a.Body.String(), "Sign out all other devices") {
		t.Error("the all-devices button is shown with no other device")
	}
}
