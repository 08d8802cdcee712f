package flows

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/seed06f30684/caddy-kratos/codes"
	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/text"
)

// recoveryFlow answers the recovery flow (Kratos v1.3.1, code method): a
// recovery address gets a code by mail; entering it signs the user in with
// a privileged session and opens a settings flow to set a new password.
type recoveryFlow struct{ *Service }

// RecoveryMethod is the authentication method of a recovery's session.
const RecoveryMethod = "code_recovery"

// recoveryInit answers GET /self-service/recovery/{browser,api}.
func (s recoveryFlow) recoveryInit(w http.ResponseWriter, r *http.Request, typ string) error {
	fail := s.failer(typ)
	if !s.cfg.Recovery {
		return fail(flowDisabled(identity.KindRecovery))
	}
	returnTo, err := s.site.CheckReturnTo(r, r.URL.Query().Get("return_to"))
	if err != nil {
		return fail(err)
	}
	if answered, err := s.refuseSignedIn(w, r, typ, returnTo); answered || err != nil {
		return fail(err)
	}
	f := s.newCodeFlow(r, identity.KindRecovery, typ, returnTo)
	s.renewCSRF(w, r, f)
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		return fail(err)
	}
	s.sendNewFlow(w, r, f, nil, s.site.RecoveryUI(r))
	return nil
}

// refuseSignedIn answers a recovery request of a signed-in user, as
// Kratos: 400 session_already_available for JSON and API callers, a 302
// to return_to (or the default) for browsers. It reports whether it
// answered; err is what to answer with.
func (s recoveryFlow) refuseSignedIn(w http.ResponseWriter, r *http.Request, typ, returnTo string) (bool, error) {
	sess, _, err := s.Current(r)
	if err != nil || sess == nil {
		return false, err
	}
	if typ == identity.TypeBrowser && !negotiate.WantsJSON(r) {
		reply.Redirect(w, s.afterURL(r, returnTo), http.StatusFound)
		return true, nil
	}
	e := apierror.SessionAlreadyAvailable()
	e.Reason = "A valid session was detected and thus recovery is not possible."
	return true, apierror.AsJSON(e)
}

// recoverySubmit answers POST /self-service/recovery?flow=: an address,
// then the code.
func (s recoveryFlow) recoverySubmit(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.Recovery {
		return flowDisabled(identity.KindRecovery)
	}
	ctx := r.Context()
	f, err := s.loadFlow(ctx, r.URL.Query().Get("flow"), identity.KindRecovery)
	if err != nil {
		return err
	}
	fail := s.failer(f.Type)
	if f.Expired(s.cfg.Now()) {
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, expired.result())
		return s.closeRecovery(w, r, f, expiredMessage(f.Kind, f, s.Service))
	}
	sub, b, err := readCodeSubmission(w, r)
	if err != nil {
		return fail(err)
	}
	if !f.ByAdmin {
		if err := s.checkSubmitter(r, f, nil, b); err != nil {
			s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, "rejected")
			if f.Type == identity.TypeBrowser {
				s.cookies.rotateCSRF(w, r)
			}
			return fail(err)
		}
	}
	form.ClearMessages(&f.UI)
	f.UpdatedAt = s.cfg.Now()
	if f.State != identity.StateChooseMethod && sub.email == "" {
		return s.checkRecoveryCode(w, r, f, sub.code)
	}
	if answered, err := s.refuseSignedIn(w, r, f.Type, f.ReturnTo); answered || err != nil {
		return fail(err)
	}
	if sub.method != "code" {
		f.UI.Messages = []text.Message{text.NoStrategy(f.Kind)}
		return s.saveAndShowRecovery(w, r, f, http.StatusBadRequest)
	}
	if f.State == identity.StatePassedChallenge {
		return s.closeRecovery(w, r, f, text.RetrySuccess(f.Kind))
	}
	if m := emailProblem(sub.email); m != nil {
		f.UI.Nodes = codeFailureNodes(f.Kind, sub.email)
		i := form.Index(f.UI.Nodes, "email")
		f.UI.Nodes[i].Messages = append(f.UI.Nodes[i].Messages, *m)
		s.renewCSRF(w, r, f)
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		return s.saveAndShowRecovery(w, r, f, http.StatusBadRequest)
	}
	id, err := s.identityForAddress(ctx, sub.email)
	if err != nil {
		return fail(err)
	}
	if !codes.HasRecoveryAddress(id, sub.email) || id.State != identity.IdentityActive {
		id = nil
	}
	address := codes.Normalize(sub.email)
	lang := s.mailLang(r)
	mail := func(code string) *identity.Message {
		return &identity.Message{Recipient: address, TemplateType: identity.TemplateRecoveryCodeValid, Lang: lang, TemplateData: map[string]any{
			"To": address, "RecoveryCode": code, "RequestURL": f.RequestURL,
		}}
	}
	if err := s.sendCode(ctx, f, id, address, mail); err != nil {
		return fail(err)
	}
	f.State = identity.StateSentEmail
	f.UI.Nodes = sentEmailNodes(f.Kind, sub.email, true)
	f.UI.Messages = []text.Message{text.RecoveryCodeSent()}
	s.renewCSRF(w, r, f)
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, "sent_email")
	return s.saveAndShowRecovery(w, r, f, http.StatusOK)
}

// saveAndShowRecovery stores f and answers with it: browsers (a browser
// flow, not asking for JSON) go to the UI, others get the flow.
func (s recoveryFlow) saveAndShowRecovery(w http.ResponseWriter, r *http.Request, f *identity.Flow, code int) error {
	return s.saveAndShow(w, r, f, code, s.site.RecoveryUI(r))
}

// closeRecovery answers a submit that ends flow f (expired, too many or a
// used code, finished): a new flow of the same type carrying msg, and a
// 303 to it, to the fetch endpoint for JSON callers.
func (s recoveryFlow) closeRecovery(w http.ResponseWriter, r *http.Request, f *identity.Flow, msg text.Message) error {
	nf, err := s.replaceCodeFlow(w, r, f, f.Type, msg)
	if err != nil {
		return s.failer(f.Type)(err)
	}
	if negotiate.WantsJSON(r) || f.Type == identity.TypeAPI {
		reply.Redirect(w, s.site.PublicURL(r, "/self-service/recovery/flows", url.Values{"id": {nf.ID}}), http.StatusSeeOther)
		return nil
	}
	uiRedirect(w, s.site.RecoveryUI(r), nf.ID)
	return nil
}

// checkRecoveryCode answers a submitted recovery code.
func (s recoveryFlow) checkRecoveryCode(w http.ResponseWriter, r *http.Request, f *identity.Flow, code string) error {
	ctx := r.Context()
	now := s.cfg.Now()
	c, err := s.codes.Use(ctx, f.ID, code, now, identity.KeepUntil(f))
	var id *identity.Identity
	if err == nil {
		id, err = s.cfg.Store.GetIdentity(ctx, c.IdentityID)
		if errors.Is(err, identity.ErrNotFound) || (err == nil && id.State != identity.IdentityActive) {
			err = identity.ErrCodeInvalid // the account went meanwhile
		}
	}
	switch {
	case errors.Is(err, identity.ErrCodeInvalid):
		f.UI.Messages = []text.Message{text.RecoveryCodeInvalid()}
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		return s.saveAndShowRecovery(w, r, f, http.StatusOK)
	case errors.Is(err, identity.ErrCodeExpired):
		return s.closeRecovery(w, r, f, text.FlowExpired(f.Kind, f.ExpiresAt, now))
	case errors.Is(err, identity.ErrCodeTooManySubmits):
		return s.closeRecovery(w, r, f, text.CodeSubmittedTooOften())
	case errors.Is(err, identity.ErrCodeUsed):
		return s.closeRecovery(w, r, f, text.CodeUsed())
	case err != nil:
		return s.failer(f.Type)(err)
	}
	if !f.ByAdmin {
		// Receiving the code proves the address is the user's.
		s.updateAddresses(ctx, id.ID, func(id *identity.Identity) bool { return codes.MarkVerified(id, c.Address, now) })
		if latest, err := s.cfg.Store.GetIdentity(ctx, id.ID); err == nil {
			id = latest
		}
	}
	f.State = identity.StatePassedChallenge
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, saved.result())
	if err := s.cfg.Store.SaveFlow(ctx, f); err != nil {
		return s.failer(f.Type)(err)
	}
	return s.recovered(w, r, f, id)
}

// recovered signs the recovered identity in with a new privileged session
// (other sessions stay, as in Kratos; a new password ends them when
// revoke_sessions_on_password_change is on) and sends the user to a new
// settings flow to set a password.
func (s recoveryFlow) recovered(w http.ResponseWriter, r *http.Request, f *identity.Flow, id *identity.Identity) error {
	fail := s.failer(f.Type)
	now := s.cfg.Now()
	sess, token, err := s.issueSession(r, id, RecoveryMethod)
	if err != nil {
		return fail(err)
	}
	s.Emit(r.Context(), events.Event{Name: events.RecoveryUsed, IdentityID: id.ID, SessionID: sess.ID, Flow: identity.KindRecovery, Method: "code"})

	settings := settingsFlow(s)
	sf := settings.newSettingsFlow(w, r, f.Type, f.ReturnTo, id)
	if f.ReturnTo != "" {
		sf.RequestURL = siteurl.WithQuery(s.site.PublicURL(r, "/self-service/settings/"+f.Type, nil), "return_to", f.ReturnTo)
	}
	sf.UI.Messages = []text.Message{text.RecoverySuccessful(now.Add(s.cfg.PrivilegedSessionMaxAge), now)}
	if f.Type == identity.TypeBrowser {
		s.cookies.setSessionCookie(w, r, token, sess.ExpiresAt)
		// A new CSRF token for the signed-in browser; the settings flow is
		// bound to it.
		real := s.cookies.rotateCSRF(w, r)
		sf.CSRFTokenHash = csrf.Hash(real)
		form.SetCSRF(&sf.UI, csrf.Mask(real))
	}
	if err := s.cfg.Store.SaveFlow(r.Context(), sf); err != nil {
		return fail(err)
	}
	settingsURL := siteurl.WithQuery(s.site.SettingsUI(r), "flow", sf.ID)
	switch {
	case f.Type == identity.TypeAPI:
		// A native app gets its session token, and the settings flow to
		// continue with (Kratos' continue_with answer; see
		// docs/differences.md).
		out := s.flowJSON(r, f, nil)
		out.ContinueWith = []wire.ContinueWith{
			{Action: "set_ory_session_token", OrySessionToken: token},
			{Action: "show_settings_ui", Flow: &wire.ContinueWithFlow{ID: sf.ID}},
		}
		reply.JSON(w, http.StatusOK, out)
	case negotiate.WantsJSON(r):
		e := apierror.New(http.StatusUnprocessableEntity, "In order to complete this flow please redirect the browser to: %s", settingsURL)
		e.ID, e.Message, e.RedirectBrowserTo = "browser_location_change_required", "browser location change required", settingsURL
		return apierror.AsJSON(e)
	default:
		reply.Redirect(w, settingsURL, http.StatusSeeOther)
	}
	return nil
}

// AdminRecoveryCode makes a recovery flow of type typ for the identity in
// sent_email with a code valid for expiresIn, for support staff to hand to
// its owner (POST /admin/recovery/code): the flow is bound to no browser
// and the code marks no address verified. It returns the recovery UI's
// link to the flow, the code and when both expire. ErrNotFound when the
// identity does not exist.
func (s *Service) AdminRecoveryCode(r *http.Request, identityID, typ string, expiresIn time.Duration) (link, code string, expiresAt time.Time, err error) {
	id, err := s.cfg.Store.GetIdentity(r.Context(), identityID)
	if err != nil {
		return "", "", time.Time{}, err
	}
	f := s.newCodeFlow(r, identity.KindRecovery, typ, "")
	f.ExpiresAt = f.IssuedAt.Add(expiresIn)
	f.State, f.ByAdmin = identity.StateSentEmail, true
	f.UI.Nodes = nil
	for _, n := range sentEmailNodes(f.Kind, "", false) {
		if n.Attributes.Type != "hidden" {
			f.UI.Nodes = append(f.UI.Nodes, n) // the code and the submit button only
		}
	}
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		return "", "", time.Time{}, err
	}
	code, err = s.codes.Issue(r.Context(), f.ID, id.ID, "", f.ExpiresAt, identity.KeepUntil(f))
	if err != nil {
		return "", "", time.Time{}, err
	}
	return siteurl.WithQuery(s.site.RecoveryUI(r), "flow", f.ID), code, f.ExpiresAt, nil
}
