package flows

import (
	"errors"
	"net/http"

	"github.com/seed06f30684/caddy-kratos/codes"
	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/text"
)

// registrationFlow answers the registration flow (Kratos v1).
type registrationFlow struct{ *Service }

var msgDuplicate = text.DuplicateCredentials()

// registrationNodes are the password method's registration form.
func (s registrationFlow) registrationNodes(traits map[string]any) []identity.Node {
	nodes := []identity.Node{form.CSRF("")}
	nodes = append(nodes, form.Traits(s.cfg.Schema, identity.GroupPassword, traits)...)
	return append(nodes, form.Password("new-password"), form.Submit(identity.GroupPassword, "password", text.SignUp()))
}

// registrationInit answers GET /self-service/registration/{browser,api}.
func (s registrationFlow) registrationInit(w http.ResponseWriter, r *http.Request, typ string) error {
	fail := s.failer(typ)
	sess, _, err := s.Current(r)
	if err != nil {
		return fail(err)
	}
	returnTo, err := s.site.CheckReturnTo(r, r.URL.Query().Get("return_to"))
	if err != nil {
		return fail(err)
	}
	if sess != nil {
		if typ == identity.TypeBrowser && !negotiate.WantsJSON(r) {
			reply.Redirect(w, s.afterURL(r, returnTo), http.StatusSeeOther)
			return nil
		}
		return apierror.AsJSON(apierror.SessionAlreadyAvailable())
	}
	f := s.newFlow(r, identity.KindRegistration, typ, returnTo)
	f.UI.Action = s.flowAction(r, identity.KindRegistration, f.ID)
	f.UI.Nodes = s.registrationNodes(nil)
	s.renewCSRF(w, r, f)
	if err := s.saveNewFlow(r.Context(), f); err != nil {
		return fail(err)
	}
	s.sendNewFlow(w, r, f, nil, s.site.RegistrationUI(r))
	return nil
}

// registrationSubmit answers POST /self-service/registration?flow=.
func (s registrationFlow) registrationSubmit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, b, err := s.openSubmit(w, r, identity.KindRegistration, "method", "password", "traits", "traits.", "csrf_token", "flow", "transient_payload")
	if err != nil {
		return err
	}
	fail := s.failer(f.Type)
	if f.Expired(s.cfg.Now()) {
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, expired.result())
		// The replacement keeps the traits typed (never the password).
		typed, err := b.Traits(s.cfg.Schema)
		if err != nil {
			typed = nil
		}
		return s.replaceExpired(w, r, f, func(nf *identity.Flow) { nf.UI.Nodes = s.registrationNodes(typed) }, s.site.RegistrationUI(r))
	}
	if sess, _, err := s.Current(r); err != nil || sess != nil {
		if err == nil {
			err = apierror.SessionAlreadyAvailable()
		}
		return fail(err)
	}
	method, err := b.Str("method")
	if err != nil {
		return fail(err)
	}
	if method != "password" {
		return fail(apierror.BadRequest("Could not find a strategy to sign you up with. Did you fill out the form correctly?"))
	}
	password, err := b.Str("password")
	if err != nil {
		return fail(err)
	}
	traits, err := b.Traits(s.cfg.Schema)
	if err != nil {
		return fail(err)
	}

	// Rebuild the form from what was sent, then collect every problem.
	f.UI.Nodes = s.registrationNodes(traits)
	f.UI.Messages = nil
	s.renewCSRF(w, r, f)
	f.UI.Nodes = form.AttachErrors(f.UI.Nodes, identity.GroupPassword, s.cfg.Schema.Validate(traits))
	// Read-only traits are set only through the admin API, their first value
	// too (docs/differences.md): a value sent for one gets the error the settings
	// flow gives a changed read-only trait.
	f.UI.Nodes = form.AttachErrors(f.UI.Nodes, identity.GroupPassword, lockedChangeErrors(s.cfg.Schema, nil, traits, false))
	id := s.NewIdentity(traits)
	if password == "" {
		i := form.Index(f.UI.Nodes, "password")
		f.UI.Nodes[i].Messages = append(f.UI.Nodes[i].Messages, text.Required("password"))
	} else if m := passwords.Policy(password, id.Identifiers()); m != nil {
		i := form.Index(f.UI.Nodes, "password")
		f.UI.Nodes[i].Messages = append(f.UI.Nodes[i].Messages, *m)
	}
	if !hasMessages(f.UI) && len(id.Identifiers()) == 0 {
		// Nobody could sign in to it: the schema marks no login identifier,
		// or the traits sent leave it out (the provisioning log warns of
		// the first).
		f.UI.Messages = []text.Message{text.IdentifierMissing()}
	}
	if !hasMessages(f.UI) {
		if err := s.SetPassword(id, password); err != nil {
			return fail(err)
		}
		if refused := s.gate(ctx, events.Event{Name: events.IdentityCreated, IdentityID: id.ID, Flow: identity.KindRegistration, Method: "password"}); refused != nil {
			f.UI.Messages = []text.Message{*refused}
		} else {
			if s.cfg.Verification {
				// The codes go out right after (verifyNewAccount): the
				// identity is stored with its addresses already "sent", so
				// no later write changes its version under a settings form
				// opened at once.
				for _, address := range codes.Unverified(id) {
					codes.MarkSent(id, address, s.cfg.Now())
				}
			}
			err := s.cfg.Store.CreateIdentity(ctx, id)
			switch {
			case errors.Is(err, identity.ErrDuplicateIdentifier):
				f.UI.Messages = []text.Message{msgDuplicate}
			case err != nil:
				return fail(err)
			}
		}
	}
	f.UpdatedAt = s.cfg.Now()
	if hasMessages(f.UI) {
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		if err := s.cfg.Store.SaveFlow(ctx, f); err != nil {
			return fail(err)
		}
		s.sendFormResult(w, r, f, nil, http.StatusBadRequest, s.site.RegistrationUI(r))
		return nil
	}

	sess, token, err := s.IssueSession(r, id)
	if err != nil {
		return fail(err)
	}
	var csrfToken []byte
	if f.Type == identity.TypeBrowser {
		s.cookies.setSessionCookie(w, r, token, sess.ExpiresAt)
		csrfToken = s.cookies.rotateCSRF(w, r)
	}
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, saved.result())
	s.Emit(ctx, events.Event{Name: events.IdentityCreated, IdentityID: id.ID, SessionID: sess.ID, Flow: identity.KindRegistration, Method: "password"})
	f.Active = "password"
	if err := s.cfg.Store.SaveFlow(ctx, f); err != nil {
		return fail(err)
	}
	var next []wire.ContinueWith
	if s.cfg.Verification {
		if next, err = verificationFlow(s).verifyNewAccount(r, f, id, csrfToken); err != nil {
			return fail(err)
		}
	}
	s.sendSession(w, r, f, sess, id, token, next...)
	return nil
}

// hasMessages reports whether a form carries any error message.
func hasMessages(ui identity.UI) bool {
	for _, m := range ui.Messages {
		if m.Type == text.Error {
			return true
		}
	}
	for _, n := range ui.Nodes {
		for _, m := range n.Messages {
			if m.Type == text.Error {
				return true
			}
		}
	}
	return false
}
