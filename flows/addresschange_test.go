package flows

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/text"
)

// withAddressChanges turns verification and held address changes on.
func withAddressChanges(on bool) func(*Config) {
	return func(c *Config) { c.Verification, c.VerifyAddressChanges = true, on }
}

// mails are the queued messages, as (recipient, template type) → data.
func (e *flowEnv) mails() []*identity.Message {
	e.t.Helper()
	e.s.Wait()
	page, err := e.store.ListMessages(context.Background(), identity.MessageQuery{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Messages
}

// mailTo is the newest queued mail to address of template typ, or nil.
func (e *flowEnv) mailTo(address, typ string) *identity.Message {
	e.t.Helper()
	var found *identity.Message
	for _, m := range e.mails() {
		if m.Recipient == address && m.TemplateType == typ && (found == nil || !m.CreatedAt.Before(found.CreatedAt)) {
			found = m
		}
	}
	return found
}

func (e *flowEnv) mailCount(address, typ string) int {
	n := 0
	for _, m := range e.mails() {
		if m.Recipient == address && m.TemplateType == typ {
			n++
		}
	}
	return n
}

// holdChange signs ada@ in (fresh, so privileged), asks to change her
// email to next through a settings flow of the caller's kind and returns
// the client, the settings flow, the answer and the identity.
func holdChange(t *testing.T, e *flowEnv, kind callerKind, next string) (*client, *seenFlow, *answer, *identity.Identity) {
	t.Helper()
	id := e.addIdentity("ada@example.com")
	c := e.newClient(kind)
	c.signIn(e.addSession(id))
	f := c.begin("settings", "")
	a := c.submit(f, map[string]string{"method": "profile", "traits.email": next, "traits.name.first": "Ada", "traits.name.last": "King"})
	return c, f, a, id
}

// enterCode submits the code mailed to address in verification flow
// flowID, as JSON.
func enterCode(t *testing.T, e *flowEnv, flowID, address string) *answer {
	t.Helper()
	m := e.mailTo(address, identity.TemplateVerificationCodeValid)
	if m == nil {
		t.Fatalf("no code mailed to %s: %+v", address, e.mails())
	}
	code, _ := m.TemplateData["VerificationCode"].(string)
	c := e.newClient(callerAPI)
	return c.do(http.MethodPost, DefaultPublicPrefix+"/self-service/verification?flow="+flowID, "application/json", `{"method":"code","code":"`+code+`"}`)
}

func TestAddressChangeHeldUntilVerified(t *testing.T) {
	e := newFlowEnv(t, withAddressChanges(true))
	_, _, a, id := holdChange(t, e, callerAPI, "ada.king@example.com")
	if a.Code != http.StatusOK || a.doc.State != identity.StateShowForm || !slices.Contains(a.doc.messageIDs(), text.InfoSettingsAddressChangePending) {
		t.Fatalf("held: %d %s", a.Code, a.Body)
	}
	if len(a.doc.ContinueWith) != 1 || a.doc.ContinueWith[0].Action != "show_verification_ui" || a.doc.ContinueWith[0].Flow.VerifiableAddress != "ada.king@example.com" {
		t.Fatalf("continue_with: %s", a.Body)
	}
	vf := a.doc.ContinueWith[0].Flow.ID
	stored := e.identity(id.ID)
	if stored.Traits["email"] != "ada@example.com" || e.identifierHolder("ada@example.com") != id.ID || e.identifierHolder("ada.king@example.com") != "" {
		t.Fatalf("held change applied early: %v", stored.Traits)
	}
	if stored.PendingChange == nil || stored.PendingChange.VerificationFlowID != vf || stored.PendingChange.Address != "ada.king@example.com" {
		t.Fatalf("pending change: %+v", stored.PendingChange)
	}
	if e.mailTo("ada@example.com", identity.TemplateAddressChangeRequested) == nil {
		t.Error("the old address was not told of the request")
	}
	if f := e.storedFlow(vf); f.State != identity.StateSentEmail || f.nodeValue("email") != "ada.king@example.com" {
		t.Errorf("verification flow: %+v", f)
	}

	done := enterCode(t, e, vf, "ada.king@example.com")
	if done.Code != http.StatusOK || done.doc.State != identity.StatePassedChallenge {
		t.Fatalf("code: %d %s", done.Code, done.Body)
	}
	stored = e.identity(id.ID)
	if stored.PendingChange != nil || stored.Traits["email"] != "ada.king@example.com" || e.identifierHolder("ada@example.com") != "" || e.identifierHolder("ada.king@example.com") != id.ID {
		t.Fatalf("after the code: %+v", stored)
	}
	// The other traits of the submission came with it.
	if last, _ := stored.Traits["name"].(map[string]any)["last"].(string); last != "King" {
		t.Errorf("name after the change: %v", stored.Traits["name"])
	}
	if len(stored.VerifiableAddresses) != 1 || !stored.VerifiableAddresses[0].Verified || stored.RecoveryAddresses[0].Value != "ada.king@example.com" {
		t.Errorf("addresses after the change: %+v %+v", stored.VerifiableAddresses, stored.RecoveryAddresses)
	}
	if e.mailTo("ada@example.com", identity.TemplateAddressChanged) == nil {
		t.Error("the old address was not told it was replaced")
	}
}

func TestAddressChangeBrowserGoesToVerificationUI(t *testing.T) {
	e := newFlowEnv(t, withAddressChanges(true))
	_, _, a, id := holdChange(t, e, callerBrowser, "ada.king@example.com")
	vf := e.identity(id.ID).PendingChange.VerificationFlowID
	if a.Code != http.StatusSeeOther || !strings.HasSuffix(a.Location(), "/ui/verification?flow="+vf) {
		t.Fatalf("browser: %d to %q", a.Code, a.Location())
	}
}

func TestAddressChangeOff(t *testing.T) {
	e := newFlowEnv(t, withAddressChanges(false))
	_, _, a, id := holdChange(t, e, callerAPI, "ada.king@example.com")
	if a.Code != http.StatusOK || a.doc.State != identity.StateSuccess || e.identity(id.ID).Traits["email"] != "ada.king@example.com" {
		t.Fatalf("off: %d %s", a.Code, a.Body)
	}
}

func TestAddressChangeRefused(t *testing.T) {
	t.Run("taken", func(t *testing.T) {
		e := newFlowEnv(t, withAddressChanges(true))
		e.addIdentity("grace@example.com")
		_, _, a, id := holdChange(t, e, callerAPI, "grace@example.com")
		if a.Code != http.StatusBadRequest || !slices.Contains(a.doc.messageIDs(), text.ErrorValidationDuplicateCredentials) || e.identity(id.ID).PendingChange != nil {
			t.Fatalf("taken: %d %s", a.Code, a.Body)
		}
	})
	t.Run("two addresses", func(t *testing.T) {
		e := newFlowEnv(t, withAddressChanges(true))
		id := e.addIdentity("ada@example.com")
		c := e.newClient(callerAPI)
		c.signIn(e.addSession(id))
		f := c.begin("settings", "")
		a := c.do(http.MethodPost, f.UI.Action, "application/json", `{"method":"profile","traits":{"email":"a@example.com","name":{"first":"Ada"}}}`)
		if a.Code != http.StatusOK || e.identity(id.ID).PendingChange == nil {
			t.Fatalf("one address: %d %s", a.Code, a.Body)
		}
		// Two new addresses at once: only reachable with a second address
		// trait, so addressChanges is checked directly.
		two := cloneIdentity(id)
		two.VerifiableAddresses = append(two.VerifiableAddresses,
			identity.VerifiableAddress{Value: "b@example.com", Via: "email"}, identity.VerifiableAddress{Value: "c@example.com", Via: "email"})
		if added, removed := addressChanges(id, two); len(added) != 2 || len(removed) != 0 {
			t.Errorf("addressChanges: %v %v", added, removed)
		}
	})
}

func TestAddressChangeDropped(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(e *flowEnv, c *client, id *identity.Identity)
	}{
		{"session revoked", func(e *flowEnv, c *client, id *identity.Identity) {
			sess := e.session(c.sessionToken())
			if err := e.store.DeleteSession(context.Background(), sess.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"session revoked, seen by another session's settings", func(e *flowEnv, c *client, id *identity.Identity) {
			sess := e.session(c.sessionToken())
			if err := e.store.DeleteSession(context.Background(), sess.ID); err != nil {
				t.Fatal(err)
			}
			other := e.newClient(callerAPI)
			other.signIn(e.addSession(id))
			if f := other.begin("settings", ""); slices.Contains(f.messageIDs(), text.InfoSettingsAddressChangePending) {
				t.Errorf("a new settings flow shows a dropped change: %v", f.messageIDs())
			}
			if e.identity(id.ID).PendingChange != nil {
				t.Error("the change of a revoked session is still pending")
			}
		}},
		{"identity changed", func(e *flowEnv, c *client, id *identity.Identity) {
			cur := e.identity(id.ID)
			cur.Traits["age"] = float64(36)
			if err := e.store.UpdateIdentity(context.Background(), cur); err != nil {
				t.Fatal(err)
			}
		}},
		{"cancelled", func(e *flowEnv, c *client, id *identity.Identity) {
			f := c.begin("settings", "")
			if !slices.Contains(f.messageIDs(), text.InfoSettingsAddressChangePending) {
				t.Errorf("a new settings flow does not show the pending change: %v", f.messageIDs())
			}
			a := c.submit(f, map[string]string{"method": "profile", "pending_change": "cancel"})
			if a.Code != http.StatusOK || !slices.Equal(a.doc.messageIDs(), []int{text.InfoSettingsAddressChangeCancelled}) {
				t.Fatalf("cancel: %d %s", a.Code, a.Body)
			}
		}},
		{"replaced", func(e *flowEnv, c *client, id *identity.Identity) {
			f := c.begin("settings", "")
			a := c.submit(f, map[string]string{"method": "profile", "traits.email": "ada.lovelace@example.com", "traits.name.first": "Ada"})
			if a.Code != http.StatusOK || e.identity(id.ID).PendingChange.Address != "ada.lovelace@example.com" {
				t.Fatalf("second change: %d %s", a.Code, a.Body)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFlowEnv(t, withAddressChanges(true))
			c, _, a, id := holdChange(t, e, callerAPI, "ada.king@example.com")
			vf := a.doc.ContinueWith[0].Flow.ID
			tc.before(e, c, id)
			done := enterCode(t, e, vf, "ada.king@example.com")
			if done.Code != http.StatusOK || !slices.Contains(done.doc.messageIDs(), text.ErrorValidationVerificationCodeInvalid) {
				t.Fatalf("code: %d %s", done.Code, done.Body)
			}
			stored := e.identity(id.ID)
			if stored.Traits["email"] != "ada@example.com" || e.identifierHolder("ada.king@example.com") != "" {
				t.Fatalf("applied: %v", stored.Traits)
			}
			if tc.name != "replaced" && stored.PendingChange != nil {
				t.Errorf("still pending: %+v", stored.PendingChange)
			}
			if e.mailTo("ada@example.com", identity.TemplateAddressChanged) != nil {
				t.Error("the old address was told of a change that did not happen")
			}
		})
	}
}

func TestAddressChangeResend(t *testing.T) {
	e := newFlowEnv(t, withAddressChanges(true))
	_, _, a, _ := holdChange(t, e, callerAPI, "ada.king@example.com")
	vf := a.doc.ContinueWith[0].Flow.ID
	e.s.Wait()
	e.clock.Add(time.Second) // the resent code's mail is the newest
	c := e.newClient(callerAPI)
	r := c.do(http.MethodPost, DefaultPublicPrefix+"/self-service/verification?flow="+vf, "application/json", `{"method":"code","email":"ada.king@example.com"}`)
	if r.Code != http.StatusOK || r.doc.State != identity.StateSentEmail {
		t.Fatalf("resend: %d %s", r.Code, r.Body)
	}
	if n := e.mailCount("ada.king@example.com", identity.TemplateVerificationCodeValid); n != 2 {
		t.Fatalf("codes mailed to the new address: %d, want 2", n)
	}
	if done := enterCode(t, e, vf, "ada.king@example.com"); done.doc.State != identity.StatePassedChallenge {
		t.Fatalf("the resent code: %d %s", done.Code, done.Body)
	}
	if e.holder("ada.king@example.com") == nil {
		t.Error("the resent code did not apply the change")
	}
}

// TestAddressChangeSettingsPage: the built-in settings page shows a
// pending change with its two forms; resend mails the code again and
// shows the code form, cancel drops the change.
func TestAddressChangeSettingsPage(t *testing.T) {
	e := newFlowEnv(t, withAddressChanges(true))
	c, _, _, id := holdChange(t, e, callerBrowser, "ada.king@example.com")
	vf := e.identity(id.ID).PendingChange.VerificationFlowID
	page, _ := c.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath)
	if !strings.Contains(page.Body.String(), "We sent a code to ada.king@example.com.") {
		t.Fatalf("the page does not show the pending change:\n%s", page.Body)
	}

	e.s.Wait()
	e.clock.Add(time.Second)
	a, at := c.submitForm(page.Body.String(), "pending-change-resend", "email", nil)
	if a.Code != http.StatusOK || !strings.HasSuffix(at, "/ui/verification?flow="+vf) || !strings.Contains(a.Body.String(), `name="code"`) {
		t.Fatalf("resend: %d at %s to %q\n%s", a.Code, at, a.Location(), a.Body)
	}
	if n := e.mailCount("ada.king@example.com", identity.TemplateVerificationCodeValid); n != 2 {
		t.Errorf("codes mailed: %d, want 2", n)
	}

	page, _ = c.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath)
	a, at = c.submitForm(page.Body.String(), "pending-change-cancel", "pending_change", nil)
	if a.Code != http.StatusOK || !strings.Contains(at, siteurl.SettingsPath) || e.identity(id.ID).PendingChange != nil {
		t.Fatalf("cancel: %d at %s to %q\n%s", a.Code, at, a.Location(), a.Body)
	}
	if body := a.Body.String(); !strings.Contains(body, "The change of your address was cancelled.") || strings.Contains(body, "pending-change-cancel") {
		t.Errorf("after cancel:\n%s", body)
	}
}

// TestAddressChangeAfterRefreshLogin: a browser's address change on an old
// session is paused for the refresh login and then held, not saved.
func TestAddressChangeAfterRefreshLogin(t *testing.T) {
	e := newFlowEnv(t, withAddressChanges(true))
	id := e.addIdentity("ada@example.com")
	b := e.newClient(callerBrowser)
	b.signIn(e.addSession(id))
	e.clock.Add(DefaultPrivilegedSessionMaxAge + time.Minute)
	page, at := b.open(DefaultPublicPrefix+"/self-service/settings/browser", siteurl.SettingsPath+"?flow=")
	flow := flowParam(t, at, "flow")
	action, form := formOf(t, page.Body.String(), "settings-profile", "method")
	form.Set("traits.email", "ada.king@example.com")
	paused := b.post(action, form)
	wantPaused(t, paused, flow)
	if e.identity(id.ID).PendingChange != nil {
		t.Fatal("held before the refresh login")
	}

	at = refreshLogin(e, b, paused, action, testPassword)
	stored := e.identity(id.ID)
	if !strings.Contains(at, siteurl.SettingsPath+"?flow="+flow) || stored.PendingChange == nil || stored.Traits["email"] != "ada@example.com" {
		t.Fatalf("after the refresh login at %s: %+v", at, stored)
	}
	if e.mailTo("ada.king@example.com", identity.TemplateVerificationCodeValid) == nil || e.mailTo("ada@example.com", identity.TemplateAddressChangeRequested) == nil {
		t.Errorf("mails: %+v", e.mails())
	}
}

// A settings form opened right after sign-up saves: the sign-up's
// verification codes do not change the identity under it afterwards (the
// addresses are stored already "sent").
func TestSettingsRightAfterSignUpWithVerification(t *testing.T) {
	e := newFlowEnv(t, withAddressChanges(true))
	c := e.newClient(callerAPI)
	reg := c.submit(c.begin("registration", ""), map[string]string{
		"method": "password", "password": testPassword, "traits.email": "grace@example.com", "traits.name.first": "Grace"})
	if reg.Code != http.StatusOK {
		t.Fatalf("registration: %d %s", reg.Code, reg.Body)
	}
	c.signIn(reg.doc.SessionToken)
	f := c.begin("settings", "")
	if e.mailTo("grace@example.com", identity.TemplateVerificationCodeValid) == nil { // waits for the mail's work
		t.Fatal("no verification mail")
	}
	a := c.submit(f, map[string]string{"method": "profile", "traits.email": "grace@example.com", "traits.name.first": "Gracie"})
	if a.Code != http.StatusOK {
		t.Fatalf("settings right after sign-up: %d %s", a.Code, a.Body)
	}
	if got := e.holder("grace@example.com"); got.VerifiableAddresses[0].Status != "sent" {
		t.Errorf("address status %q, want sent", got.VerifiableAddresses[0].Status)
	}
}
