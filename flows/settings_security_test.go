package flows

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
)

// canLogIn reports whether a fresh browser can sign in with these
// credentials through the built-in login page.
func canLogIn(e *flowEnv, email, password string) bool {
	e.t.Helper()
	b := e.newClient(callerBrowser)
	rec, _ := b.open(DefaultPublicPrefix+"/self-service/login/browser", siteurl.LoginPath)
	b.submitForm(rec.Body.String(), "login", "method", url.Values{"identifier": {email}, "password": {password}})
	return b.cookies[SessionCookie] != ""
}

// peekContinuity returns the continuity record the browser's cookie names
// and puts it back, so the refresh login can still resume it.
func peekContinuity(e *flowEnv, b *client) []byte {
	e.t.Helper()
	c := b.cookies[ContinuityCookie]
	if c == "" {
		e.t.Fatal("no continuity cookie")
	}
	ctx := context.Background()
	raw, err := e.store.TakeContinuity(ctx, c)
	if err != nil {
		e.t.Fatalf("take continuity %s: %v", c, err)
	}
	if err := e.store.SaveContinuity(ctx, c, raw, continuityTTL); err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// agedSettingsPage signs Ada up (signedUpAda), lets her session age past
// privileged_session_max_age and opens the settings page.
func agedSettingsPage(t *testing.T) (e *flowEnv, b *client, page, at string) {
	t.Helper()
	e, b = signedUpAda(t)
	e.clock.Add(DefaultPrivilegedSessionMaxAge + time.Minute)
	rec, at := b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
	return e, b, rec.Body.String(), at
}

// wantPaused checks a submit was paused for a refresh login of flow.
func wantPaused(t *testing.T, rec *answer, flow string) {
	t.Helper()
	loc, _ := url.Parse(rec.Location())
	if rec.Code != http.StatusSeeOther || loc == nil || loc.Path != DefaultPublicPrefix+"/self-service/login/browser" ||
		loc.Query().Get("refresh") != "true" || !strings.Contains(loc.Query().Get("return_to"), "flow="+flow) {
		t.Fatalf("not paused: %d to %q\n%s", rec.Code, rec.Location(), rec.Body)
	}
}

// refreshLogin follows a pause redirect to the refresh login page and signs
// in again; it returns where the browser ends.
func refreshLogin(e *flowEnv, b *client, paused *answer, from, password string) string {
	e.t.Helper()
	rec, at := b.followFrom(paused, from)
	if rec.Code != http.StatusOK || !strings.Contains(at, siteurl.LoginPath+"?flow=") {
		e.t.Fatalf("refresh login page: %d at %s", rec.Code, at)
	}
	rec, at = b.submitForm(rec.Body.String(), "login", "method", url.Values{"password": {password}})
	if rec.Code != http.StatusOK {
		e.t.Fatalf("after the refresh login: %d at %s\n%s", rec.Code, at, rec.Body)
	}
	return at
}

func TestSettingsPausedPasswordStoresNoSecret(t *testing.T) {
	const newPassword = "a brand new passphrase 42"
	env, b, page, at := agedSettingsPage(t)
	flow := flowParam(t, at, "flow")

	// A password the policy refuses is refused now, not paused.
	rec, _ := b.submitForm(page, "settings-password", "method", url.Values{"password": {"ada"}})
	page = checkPage(t, b, rec, http.StatusOK)
	wantIn(t, fieldBlock(t, page, "password"), `data-message-id="4000032"`)
	if b.cookies[ContinuityCookie] != "" {
		t.Fatal("a refused password was paused")
	}

	action, form := formOf(t, page, "settings-password", "method")
	form.Set("password", newPassword)
	csrf := form.Get("csrf_token")
	paused := b.post(action, form)
	wantPaused(t, paused, flow)

	raw := peekContinuity(env, b)
	secrets := []string{
		newPassword, url.QueryEscape(newPassword), csrf, url.QueryEscape(csrf),
		base64.StdEncoding.EncodeToString(b.csrfReal()), "csrf_token",
	}
	for _, secret := range secrets {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the continuity record holds %q: %s", secret, raw)
		}
	}
	var p pausedSubmission
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.FlowID != flow || len(p.Form) != 0 || !passwords.Check(p.PasswordHash, newPassword) {
		t.Fatalf("continuity record %s", raw)
	}
	if canLogIn(env, "ada@example.com", newPassword) {
		t.Fatal("the new password works before the refresh login")
	}

	at = refreshLogin(env, b, paused, action, testPassword)
	if !strings.Contains(at, siteurl.SettingsPath+"?flow="+flow) {
		t.Fatalf("after the refresh login at %s", at)
	}
	if !canLogIn(env, "ada@example.com", newPassword) {
		t.Error("the new password does not work after the refresh login")
	}
	if canLogIn(env, "ada@example.com", testPassword) {
		t.Error("the old password still works")
	}
	if f := env.storedFlow(flow); f.State != identity.StateSuccess {
		t.Fatalf("flow after resume: %+v", f)
	}
}

func TestSettingsPausedProfileChange(t *testing.T) {
	env, b, page, at := agedSettingsPage(t)
	flow := flowParam(t, at, "flow")

	action, form := formOf(t, page, "settings-profile", "method")
	form.Set("traits.email", "augusta@example.com")
	csrf := form.Get("csrf_token")
	paused := b.post(action, form)
	wantPaused(t, paused, flow)

	raw := peekContinuity(env, b)
	if strings.Contains(string(raw), csrf) || strings.Contains(string(raw), "csrf_token") {
		t.Errorf("the continuity record holds the CSRF token: %s", raw)
	}
	var p pausedSubmission
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.PasswordHash != "" || p.Form.Get("traits.email") != "augusta@example.com" ||
		p.Form.Get("method") != "profile" || p.Form.Get("traits.name.first") != "Augusta" {
		t.Fatalf("continuity record %s", raw)
	}
	if env.holder("ada@example.com") == nil {
		t.Fatal("changed before the refresh login")
	}

	refreshLogin(env, b, paused, action, testPassword)
	id := env.holder("augusta@example.com")
	if id.Traits["name"].(map[string]any)["first"] != "Augusta" {
		t.Fatalf("traits after resume: %v", id.Traits)
	}
	if !canLogIn(env, "augusta@example.com", testPassword) {
		t.Error("cannot sign in with the new email")
	}
}

// A paused record whose form asks for a password change (never written by
// pauseSettings, which keeps only the hash) is dropped rather than replayed.
func TestSettingsPausedCleartextRecordDropped(t *testing.T) {
	env, b, page, at := agedSettingsPage(t)
	flow := flowParam(t, at, "flow")
	action, form := formOf(t, page, "settings-password", "method")
	form.Set("password", "a brand new passphrase 42")
	paused := b.post(action, form)
	wantPaused(t, paused, flow)

	id := env.holder("ada@example.com")
	old, _ := json.Marshal(pausedSubmission{FlowID: flow, IdentityID: id.ID, Form: form})
	if err := env.store.SaveContinuity(context.Background(), b.cookies[ContinuityCookie], old, continuityTTL); err != nil {
		t.Fatal(err)
	}
	refreshLogin(env, b, paused, action, testPassword)
	if !canLogIn(env, "ada@example.com", testPassword) || canLogIn(env, "ada@example.com", "a brand new passphrase 42") {
		t.Error("a cleartext record was replayed")
	}
}

// importIdentity stores an identity whose password is an imported
// argon2id hash of password, as the admin API's import does.
func importIdentity(e *flowEnv, email, password string) *identity.Identity {
	e.t.Helper()
	id := e.s.NewIdentity(map[string]any{"email": email})
	if err := e.s.SetPassword(id, password); err != nil {
		e.t.Fatal(err)
	}
	id.Password.HashedPassword = testenv.Argon2idHash(password)
	if err := e.store.CreateIdentity(context.Background(), id); err != nil {
		e.t.Fatal(err)
	}
	return e.holder(email)
}

// wantUpgraded checks the stored hash is bcrypt at the configured cost.
func wantUpgraded(t *testing.T, id *identity.Identity, password string) {
	t.Helper()
	hash := id.Password.HashedPassword
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != testCost {
		t.Fatalf("stored hash %q (cost %d, %v), want bcrypt at cost %d", hash, cost, err, testCost)
	}
	if !passwords.Check(hash, password) {
		t.Fatal("the upgraded hash does not verify the password")
	}
}

func TestLoginUpgradesImportedHash(t *testing.T) {
	const pw = "an imported passphrase"
	env := newFlowEnv(t, withSchema(uiTestSchema))
	imported := importIdentity(env, "ada@example.com", pw)

	if canLogIn(env, "ada@example.com", pw+"x") {
		t.Fatal("a wrong password works")
	}
	if got := env.holder("ada@example.com"); got.Password.HashedPassword != imported.Password.HashedPassword {
		t.Fatal("a failed login changed the hash")
	}
	if !canLogIn(env, "ada@example.com", pw) {
		t.Fatal("the imported password does not work")
	}
	upgraded := env.holder("ada@example.com")
	wantUpgraded(t, upgraded, pw)
	if upgraded.Version != imported.Version+1 {
		t.Errorf("version %d after the upgrade, want %d", upgraded.Version, imported.Version+1)
	}
	if !canLogIn(env, "ada@example.com", pw) || canLogIn(env, "ada@example.com", "wrong password") {
		t.Fatal("the password check changed with the upgrade")
	}
	if again := env.holder("ada@example.com"); again.Version != upgraded.Version {
		t.Errorf("an up-to-date hash was rewritten (version %d → %d)", upgraded.Version, again.Version)
	}
}

func TestLoginUpgradesBcryptAtAnotherCost(t *testing.T) {
	const pw = "an imported passphrase"
	env := newFlowEnv(t, withSchema(uiTestSchema))
	id := importIdentity(env, "ada@example.com", pw)
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), testCost+1)
	if err != nil {
		t.Fatal(err)
	}
	id.Password.HashedPassword = string(hash)
	if err := env.store.UpdateIdentity(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if !canLogIn(env, "ada@example.com", pw) {
		t.Fatal("the password does not work")
	}
	wantUpgraded(t, env.holder("ada@example.com"), pw)
}

// A refresh login with a paused change waiting leaves the hash upgrade to
// the next login: the change, replayed after it, was made against the
// identity's version before it.
func TestRefreshLoginWithPausedChangeUpgradesLater(t *testing.T) {
	const pw = "an imported passphrase"
	env := newFlowEnv(t, withSchema(uiTestSchema))
	id := importIdentity(env, "ada@example.com", pw)
	b := env.newClient(callerBrowser)
	b.signIn(env.addSession(id))
	env.clock.Add(DefaultPrivilegedSessionMaxAge + time.Minute)
	rec, at := b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
	action, form := formOf(t, rec.Body.String(), "settings-profile", "method")
	form.Set("traits.email", "augusta@example.com")
	paused := b.post(action, form)
	wantPaused(t, paused, flowParam(t, at, "flow"))

	refreshLogin(env, b, paused, action, pw)
	after := env.holder("augusta@example.com") // the paused change was applied
	if after.Version != id.Version+1 || after.Password.HashedPassword != id.Password.HashedPassword {
		t.Errorf("version %d, want %d with the imported hash kept", after.Version, id.Version+1)
	}
	if !canLogIn(env, "augusta@example.com", pw) {
		t.Fatal("the password does not work")
	}
	wantUpgraded(t, env.holder("augusta@example.com"), pw)
}

// A refresh login of the signed-in identity leaves the hash upgrade to the
// next login too: an app or SPA submits its settings change again after
// it, against the version its settings flow was made from.
func TestRefreshLoginOfTheSignedInIdentityUpgradesLater(t *testing.T) {
	const pw = "an imported passphrase"
	for _, kind := range []callerKind{callerAPI, callerSPA} {
		env := newFlowEnv(t, withSchema(uiTestSchema))
		id := importIdentity(env, "ada@example.com", pw)
		c := env.newClient(kind)
		c.signIn(env.addSession(id))
		env.clock.Add(DefaultPrivilegedSessionMaxAge + time.Minute)
		f := c.begin(identity.KindSettings, "")
		change := map[string]string{"method": "profile", "traits.email": "augusta@example.com"}
		if a := c.submit(f, change); a.Code != http.StatusForbidden {
			t.Fatalf("%s: a protected change with an old session: %d %s", kind, a.Code, a.Body)
		}
		refresh := c.begin(identity.KindLogin, "refresh=true")
		if a := c.submit(refresh, map[string]string{"method": "password", "identifier": "ada@example.com", "password": pw}); a.Code != http.StatusOK {
			t.Fatalf("%s: refresh login: %d %s", kind, a.Code, a.Body)
		}
		if a := c.submit(f, change); a.Code != http.StatusOK {
			t.Fatalf("%s: the change submitted again after the refresh login: %d %s", kind, a.Code, a.Body)
		}
		if after := env.holder("augusta@example.com"); after.Password.HashedPassword != id.Password.HashedPassword {
			t.Errorf("%s: the refresh login upgraded the hash", kind)
		}
		if !canLogIn(env, "augusta@example.com", pw) {
			t.Fatalf("%s: the password does not work", kind)
		}
		wantUpgraded(t, env.holder("augusta@example.com"), pw)
	}
}

// The upgrade is a version-checked write: when the identity changed since
// the login read it, the hash stays and the login goes on.
func TestUpgradeHashSkipsOnConflict(t *testing.T) {
	const pw = "an imported passphrase"
	env := newFlowEnv(t, withSchema(uiTestSchema))
	stale := importIdentity(env, "ada@example.com", pw)
	newer := cloneIdentity(stale)
	newer.Traits = map[string]any{"email": "ada@example.com", "name": map[string]any{"first": "Augusta"}}
	if err := env.store.UpdateIdentity(context.Background(), newer); err != nil {
		t.Fatal(err)
	}
	got := loginFlow{env.s}.upgradeHash(context.Background(), stale, stale.Password.HashedPassword, pw)
	if got != stale {
		t.Error("upgradeHash did not return the identity it was given")
	}
	stored := env.holder("ada@example.com")
	if stored.Password.HashedPassword != stale.Password.HashedPassword || stored.Version != newer.Version {
		t.Fatalf("a conflicting upgrade was written: version %d, hash %q", stored.Version, stored.Password.HashedPassword)
	}
	// A hash other than the one the password was checked against is never
	// replaced.
	if got := (loginFlow{env.s}).upgradeHash(context.Background(), stored, passwords.Dummy(testCost), pw); got != stored {
		t.Error("upgradeHash replaced a hash the password was not checked against")
	}
}

func TestDummyHashAtConfiguredCost(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, passwords.BcryptCost} {
		if got, err := bcrypt.Cost([]byte(passwords.Dummy(cost))); err != nil || got != cost {
			t.Errorf("dummyHash(%d) has cost %d (%v)", cost, got, err)
		}
	}
	if !passwords.UpToDate(passwords.Dummy(passwords.BcryptCost), 0) || passwords.UpToDate(testenv.Argon2idHash("x"), passwords.BcryptCost) {
		t.Error("hashUpToDate")
	}
}
