package flows

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

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

// verificationFlow answers the verification flow (Kratos v1.3.1, code
// method): an address gets a code by mail; entering it verifies the
// address.
type verificationFlow struct{ *Service }

// verificationInit answers GET /self-service/verification/{browser,api}.
func (s verificationFlow) verificationInit(w http.ResponseWriter, r *http.Request, typ string) error {
	if !s.cfg.Verification {
		return s.failer(typ)(flowDisabled(identity.KindVerification))
	}
	returnTo, err := s.site.CheckReturnTo(r, r.URL.Query().Get("return_to"))
	if err != nil {
		return apierror.AsJSON(err) // Kratos writes this one as JSON for browsers too
	}
	f := s.newCodeFlow(r, identity.KindVerification, typ, returnTo)
	s.renewCSRF(w, r, f)
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		return s.failer(typ)(err)
	}
	s.sendNewFlow(w, r, f, nil, s.site.VerificationUI(r))
	return nil
}

// verificationSubmit answers POST /self-service/verification?flow= (an
// address, or a code) and GET with ?code= (the link in the mail, which
// fills in the code and shows the form).
func (s verificationFlow) verificationSubmit(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.Verification {
		return flowDisabled(identity.KindVerification)
	}
	ctx := r.Context()
	f, err := s.loadFlow(ctx, r.URL.Query().Get("flow"), identity.KindVerification)
	if err != nil {
		return err
	}
	ui := s.site.VerificationUI(r)
	fail := s.failer(f.Type)
	if f.Expired(s.cfg.Now()) {
		// As Kratos: the replacement is a browser flow, and JSON callers
		// are sent to fetch it.
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, expired.result())
		nf, err := s.replaceCodeFlow(w, r, f, identity.TypeBrowser, expiredMessage(f.Kind, f, s.Service))
		if err != nil {
			return fail(err)
		}
		if negotiate.WantsJSON(r) {
			reply.Redirect(w, s.site.PublicURL(r, "/self-service/verification/flows", url.Values{"id": {nf.ID}}), http.StatusSeeOther)
			return nil
		}
		uiRedirect(w, ui, nf.ID)
		return nil
	}
	sub, b, err := readCodeSubmission(w, r)
	if err != nil {
		return fail(err)
	}
	form.ClearMessages(&f.UI)
	f.UpdatedAt = s.cfg.Now()
	if sub.method != "code" {
		f.UI.Messages = []text.Message{text.NoStrategy(f.Kind)}
		return s.saveAndShow(w, r, f, http.StatusBadRequest, ui)
	}
	if f.State == identity.StatePassedChallenge {
		return s.closeVerification(w, r, f, text.RetrySuccess(f.Kind), "An error occured, please use the new flow.")
	}
	if sub.code != "" {
		if r.Method == http.MethodGet {
			// The link in the mail: the code is filled in and the flow bound
			// to this browser, so the mail can be opened on another device.
			if i := form.Index(f.UI.Nodes, "code"); i >= 0 {
				f.UI.Nodes[i].Attributes.Value = sub.code
			}
			s.renewCSRF(w, r, f)
			if err := s.cfg.Store.SaveFlow(ctx, f); err != nil {
				return fail(err)
			}
			uiRedirect(w, ui, f.ID)
			return nil
		}
		return s.checkVerificationCode(w, r, f, sub.code)
	}
	if m := emailProblem(sub.email); m != nil {
		f.UI.Nodes = codeFailureNodes(f.Kind, sub.email)
		i := form.Index(f.UI.Nodes, "email")
		f.UI.Nodes[i].Messages = append(f.UI.Nodes[i].Messages, *m)
		s.renewCSRF(w, r, f)
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		return s.saveAndShow(w, r, f, http.StatusBadRequest, ui)
	}
	if err := s.checkSubmitter(r, f, nil, b); err != nil {
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, "rejected")
		return fail(err)
	}
	id, err := s.identityForAddress(ctx, sub.email)
	if err != nil {
		return fail(err)
	}
	if codes.VerifiableAddress(id, sub.email) == nil {
		id = nil
	}
	address := sub.email
	if id != nil {
		address = codes.VerifiableAddress(id, sub.email).Value
	} else if id, err = s.pendingChangeFor(ctx, f); err != nil {
		return fail(err)
	} else if id != nil && strings.EqualFold(id.PendingChange.Address, sub.email) {
		// The resend button of a pending address change's flow.
		address = id.PendingChange.Address
	} else {
		id = nil
	}
	if err := s.sendCode(ctx, f, id, address, s.verificationMail(r, f, address)); err != nil {
		return fail(err)
	}
	f.State = identity.StateSentEmail
	f.UI.Nodes = sentEmailNodes(f.Kind, sub.email, true)
	f.UI.Messages = []text.Message{text.VerificationCodeSent()}
	s.renewCSRF(w, r, f)
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, "sent_email")
	return s.saveAndShow(w, r, f, http.StatusOK, ui)
}

// verifyNewAccount is Kratos' verification hook after registration: each
// address of the new identity not verified yet gets a verification flow of
// the registration's type, in sent_email, and a code; the items say where
// to enter it. csrfToken is the browser's new CSRF token (nil for API
// flows).
func (s verificationFlow) verifyNewAccount(r *http.Request, reg *identity.Flow, id *identity.Identity, csrfToken []byte) ([]wire.ContinueWith, error) {
	var out []wire.ContinueWith
	for _, address := range codes.Unverified(id) {
		f := s.newCodeFlow(r, identity.KindVerification, reg.Type, "")
		f.RequestURL, f.State = reg.RequestURL, identity.StateSentEmail
		f.UI.Nodes = sentEmailNodes(f.Kind, "", true)
		f.UI.Messages = []text.Message{text.VerificationCodeSent()}
		item := wire.ContinueWith{Action: "show_verification_ui", Flow: &wire.ContinueWithFlow{ID: f.ID, VerifiableAddress: address}}
		if csrfToken != nil {
			f.CSRFTokenHash = csrf.Hash(csrfToken)
			form.SetCSRF(&f.UI, csrf.Mask(csrfToken))
			item.Flow.URL = siteurl.WithQuery(s.site.VerificationUI(r), "flow", f.ID)
		}
		if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
			return nil, err
		}
		if err := s.sendCode(r.Context(), f, id, address, s.verificationMail(r, f, address)); err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, nil
}

// verificationMail is the mail of a verification code for address.
func (s verificationFlow) verificationMail(r *http.Request, f *identity.Flow, address string) func(string) *identity.Message {
	lang := s.mailLang(r)
	return func(code string) *identity.Message {
		link := s.site.PublicURL(r, "/self-service/verification", url.Values{"flow": {f.ID}, "code": {code}})
		return &identity.Message{Recipient: address, TemplateType: identity.TemplateVerificationCodeValid, Lang: lang, TemplateData: map[string]any{
			"To": address, "VerificationCode": code, "VerificationURL": link, "RequestURL": f.RequestURL,
		}}
	}
}

// checkVerificationCode answers a submitted code.
func (s verificationFlow) checkVerificationCode(w http.ResponseWriter, r *http.Request, f *identity.Flow, code string) error {
	ctx := r.Context()
	ui := s.site.VerificationUI(r)
	now := s.cfg.Now()
	c, err := s.codes.Use(ctx, f.ID, code, now, identity.KeepUntil(f))
	switch {
	case errors.Is(err, identity.ErrCodeInvalid):
		f.UI.Messages = []text.Message{text.VerificationCodeInvalid()}
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		return s.saveAndShow(w, r, f, http.StatusOK, ui)
	case errors.Is(err, identity.ErrCodeExpired):
		nf, err := s.replaceCodeFlow(w, r, f, f.Type, text.FlowExpired(f.Kind, f.ExpiresAt, now))
		if err != nil {
			return s.failer(f.Type)(err)
		}
		if negotiate.WantsJSON(r) || f.Type == identity.TypeAPI {
			return apierror.AsJSON(apierror.FlowExpired(f, now, nf.ID))
		}
		uiRedirect(w, ui, nf.ID)
		return nil
	case errors.Is(err, identity.ErrCodeTooManySubmits):
		return s.closeVerification(w, r, f, text.CodeSubmittedTooOften(), "An error occured, please retry the flow.")
	case errors.Is(err, identity.ErrCodeUsed):
		return s.closeVerification(w, r, f, text.CodeUsed(), "An error occured, please retry the flow.")
	case err != nil:
		return s.failer(f.Type)(err)
	}
	pending, msg, err := s.applyAddressChange(r, f, c.Address)
	switch {
	case err != nil:
		return s.failer(f.Type)(err)
	case msg != nil:
		f.UI.Messages = []text.Message{*msg}
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		return s.saveAndShow(w, r, f, http.StatusOK, ui)
	case !pending:
		s.updateAddresses(ctx, c.IdentityID, func(id *identity.Identity) bool { return codes.MarkVerified(id, c.Address, now) })
		s.Emit(ctx, events.Event{Name: events.AddressVerified, IdentityID: c.IdentityID, Flow: identity.KindVerification, Method: "code"})
	}
	to := s.afterURL(r, f.ReturnTo)
	label := text.NodeLabelContinue()
	anchor := identity.Node{Type: "a", Group: "code", Messages: []text.Message{}, Meta: identity.Meta{Label: &label},
		Attributes: identity.InputAttributes{Href: to, Title: &label, AnchorID: "continue", NodeType: "a"}}
	f.State = identity.StatePassedChallenge
	f.UI.Method, f.UI.Action = http.MethodGet, to
	f.UI.Nodes = []identity.Node{form.CSRF(""), anchor}
	f.UI.Messages = []text.Message{text.VerificationSuccessful()}
	s.renewCSRF(w, r, f)
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, saved.result())
	return s.saveAndShow(w, r, f, http.StatusOK, ui)
}

// closeVerification answers a submit that ends flow f for good: a new flow
// carrying msg; 410 self_service_flow_replaced for JSON callers, the new
// flow's UI for browsers.
func (s verificationFlow) closeVerification(w http.ResponseWriter, r *http.Request, f *identity.Flow, msg text.Message, reason string) error {
	nf, err := s.replaceCodeFlow(w, r, f, f.Type, msg)
	if err != nil {
		return s.failer(f.Type)(err)
	}
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, "replaced")
	if negotiate.WantsJSON(r) || f.Type == identity.TypeAPI {
		return apierror.AsJSON(flowReplaced(reason, nf.ID))
	}
	uiRedirect(w, s.site.VerificationUI(r), nf.ID)
	return nil
}

// saveAndShow stores flow f and answers with it: JSON (status code) for
// JSON callers and API flows, the UI for browsers.
func (s *Service) saveAndShow(w http.ResponseWriter, r *http.Request, f *identity.Flow, code int, ui string) error {
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		return s.failer(f.Type)(err)
	}
	s.sendFormResult(w, r, f, nil, code, ui)
	return nil
}
