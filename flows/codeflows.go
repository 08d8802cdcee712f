package flows

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/codes"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/schema"
	"github.com/seed06f30684/caddy-kratos/text"
)

// What verification and recovery (Kratos' code method) share: the flow and
// its forms, reading a submission, and sending a code. The codes themselves
// (making, hashing, checking, attempts) are package codes'.

// maxAddressBytes bounds a submitted address (RFC 5321's path limit).
const maxAddressBytes = 254

// codeSubmission is a decoded verification or recovery submission.
type codeSubmission struct {
	method, email, code, csrfToken string
}

// readCodeSubmission reads the body (or, for the link in a mail, the
// query) of a verification or recovery submit.
func readCodeSubmission(w http.ResponseWriter, r *http.Request) (codeSubmission, *body.Body, error) {
	var b *body.Body
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		b = &body.Body{Form: url.Values{"code": q["code"]}}
	} else {
		var err error
		if b, err = body.Read(w, r); err != nil {
			return codeSubmission{}, nil, err
		}
	}
	if err := b.CheckFields("method", "email", "code", "csrf_token", "transient_payload", "flow"); err != nil {
		return codeSubmission{}, nil, err
	}
	var sub codeSubmission
	for _, f := range []struct {
		name string
		to   *string
	}{{"method", &sub.method}, {"email", &sub.email}, {"code", &sub.code}, {"csrf_token", &sub.csrfToken}} {
		v, err := b.Str(f.name)
		if err != nil {
			return codeSubmission{}, nil, err
		}
		*f.to = v
	}
	sub.email = strings.TrimSpace(sub.email)
	if sub.method == "" && sub.code != "" {
		sub.method = "code"
	}
	return sub, b, nil
}

// emailProblem is the message for a submitted address that is missing or
// not an email address; nil when it is fine.
func emailProblem(email string) *text.Message {
	if email == "" {
		m := text.Required("email")
		return &m
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || len(email) > maxAddressBytes {
		m := text.Generic(fmt.Sprintf("%q is not valid \"email\"", email))
		return &m
	}
	return nil
}

// newCodeFlow returns a verification or recovery flow in choose_method.
func (s *Service) newCodeFlow(r *http.Request, kind, typ, returnTo string) *identity.Flow {
	f := s.newFlow(r, kind, typ, returnTo)
	f.State, f.Active = identity.StateChooseMethod, "code"
	f.UI.Action = s.flowAction(r, kind, f.ID)
	f.UI.Nodes = chooseMethodNodes(kind)
	return f
}

func emailNode(value string) identity.Node {
	n := form.Input("code", "email", "email", nil)
	if value != "" {
		n.Attributes.Value = value
	}
	n.Attributes.Required = true
	label := text.NodeLabelEmail()
	n.Meta.Label = &label
	return n
}

// chooseMethodNodes is the email form, in Kratos' order for each kind.
func chooseMethodNodes(kind string) []identity.Node {
	submit := form.Submit("code", "code", text.NodeLabelContinue())
	if kind == identity.KindRecovery {
		return []identity.Node{form.CSRF(""), emailNode(""), submit}
	}
	return []identity.Node{emailNode(""), submit, form.CSRF("")}
}

// sentEmailNodes is the code form after a code was sent to email; "" (a
// flow made by registration or the admin API) has no resend button.
func sentEmailNodes(kind, email string, withCSRF bool) []identity.Node {
	code := form.Input("code", "code", "text", nil)
	code.Attributes.Required = true
	label := text.NodeLabelVerificationCode()
	if kind == identity.KindRecovery {
		label = text.NodeLabelRecoveryCode()
		code.Attributes.Pattern, code.Attributes.MaxLength = "[0-9]+", codes.Length
	}
	code.Meta.Label = &label
	hidden := form.Input("code", "method", "hidden", "code")
	submit := form.Submit("code", "code", text.NodeLabelContinue())
	var nodes []identity.Node
	if kind == identity.KindRecovery {
		if withCSRF {
			nodes = append(nodes, form.CSRF(""))
		}
		nodes = append(nodes, code, hidden, submit)
	} else {
		nodes = append(nodes, hidden, code, submit)
		if withCSRF {
			nodes = append(nodes, form.CSRF(""))
		}
	}
	if email != "" {
		resend := form.Input("code", "email", "submit", email)
		l := text.NodeLabelResendCode()
		resend.Meta.Label = &l
		nodes = append(nodes, resend)
	}
	return nodes
}

// codeFailureNodes puts the email input back after a failed email
// submission, with the value sent, as Kratos does.
func codeFailureNodes(kind, email string) []identity.Node {
	nodes := chooseMethodNodes(kind)
	nodes[form.Index(nodes, "email")].Attributes.Value = email
	return nodes
}

// identityForAddress returns the identity whose login identifier is the
// address, or nil (also when the address is no identifier at all). Address
// traits are looked up through the identifier index: a schema whose
// address traits are not login identifiers is reported when the site
// starts (caddymodule).
func (s *Service) identityForAddress(ctx context.Context, address string) (*identity.Identity, error) {
	n, err := schema.NormalizeIdentifier(address, "email")
	if err != nil || n == "" {
		return nil, nil
	}
	id, err := s.cfg.Store.FindIdentityByIdentifier(ctx, n)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil
	}
	return id, err
}

// sendCode sends a new code of flow f to address when it belongs to id
// (nil: nobody), replacing the flow's earlier code; an unknown address gets
// the same work and answer, and no mail. The mail is queued, and the
// address marked sent, after the answer: both cost the same whether or not
// the address is known.
func (s *Service) sendCode(ctx context.Context, f *identity.Flow, id *identity.Identity, address string, mail func(code string) *identity.Message) error {
	keep := identity.KeepUntil(f)
	if id == nil {
		return s.codes.Decoy(ctx, f.ID, f.ExpiresAt, keep)
	}
	code, err := s.codes.Issue(ctx, f.ID, id.ID, address, f.ExpiresAt, keep)
	if err != nil {
		return err
	}
	m := mail(code)
	s.background(ctx, func(ctx context.Context) {
		if err := s.cfg.Store.QueueMessage(ctx, m); err != nil {
			s.cfg.Logger.Error("code mail not queued", zap.String("flow_id", f.ID), zap.Error(err))
			return
		}
		if f.Kind == identity.KindVerification {
			s.updateAddresses(ctx, id.ID, func(id *identity.Identity) bool { return codes.MarkSent(id, address, s.cfg.Now()) })
		}
	})
	return nil
}

// background runs fn after the request, on a context that outlives it
// (bounded); Service.Wait waits for it.
func (s *Service) background(ctx context.Context, fn func(context.Context)) {
	s.pending.Add(1)
	go func() {
		defer s.pending.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		fn(ctx)
	}()
}

// Wait waits for the work requests left to run after their answer (the
// mail of a code).
func (s *Service) Wait() { s.pending.Wait() }

// updateAddresses changes the identity's addresses with change and stores
// it, reading it again when another write came first. Failures are logged:
// an address state is never worth failing the flow for.
func (s *Service) updateAddresses(ctx context.Context, identityID string, change func(*identity.Identity) bool) {
	for range 3 {
		id, err := s.cfg.Store.GetIdentity(ctx, identityID)
		if err != nil {
			s.cfg.Logger.Info("address state not saved", zap.String("identity_id", identityID), zap.Error(err))
			return
		}
		if !change(id) {
			return
		}
		id.UpdatedAt = s.cfg.Now()
		err = s.cfg.Store.UpdateIdentity(ctx, id)
		if !errors.Is(err, identity.ErrVersionConflict) {
			if err != nil {
				s.cfg.Logger.Info("address state not saved", zap.String("identity_id", identityID), zap.Error(err))
			}
			return
		}
	}
}

// replaceCodeFlow answers a submit that closes flow old (too many codes, a
// used or expired code, a finished flow, an expired flow): a new flow of
// the same kind, type and return_to in choose_method, carrying msg.
func (s *Service) replaceCodeFlow(w http.ResponseWriter, r *http.Request, old *identity.Flow, typ string, msg text.Message) (*identity.Flow, error) {
	nf := s.newCodeFlow(r, old.Kind, typ, old.ReturnTo)
	nf.RequestURL = old.RequestURL
	nf.UI.Messages = []text.Message{msg}
	s.renewCSRF(w, r, nf)
	return nf, s.cfg.Store.SaveFlow(r.Context(), nf)
}

// flowReplaced is Kratos' 410 self_service_flow_replaced.
func flowReplaced(reason, useFlowID string) *apierror.Error {
	e := apierror.New(http.StatusGone, "%s", reason)
	e.ID, e.Message, e.UseFlowID = "self_service_flow_replaced", "self-service flow replaced", useFlowID
	return e
}

// flowDisabled is the answer of a flow the site did not turn on.
func flowDisabled(kind string) *apierror.Error {
	return apierror.BadRequest("%s is not allowed because it was disabled.", strings.ToUpper(kind[:1])+kind[1:])
}

// uiRedirect sends the browser to a flow's UI page.
func uiRedirect(w http.ResponseWriter, ui, flowID string) {
	reply.Redirect(w, siteurl.WithQuery(ui, "flow", flowID), http.StatusSeeOther)
}

// codeFlowFetch answers GET /self-service/{verification,recovery}/flows?id=.
func (s *Service) codeFlowFetch(w http.ResponseWriter, r *http.Request, kind string, enabled bool) error {
	if !enabled {
		return apierror.AsJSON(flowDisabled(kind))
	}
	return s.getFlowHandler(w, r, kind)
}

// mailLang is the language of the mails a request queues: the one its
// Accept-Language picks, as for the pages.
func (s *Service) mailLang(r *http.Request) string {
	return s.cfg.Locale.Pick(r.Header.Get("Accept-Language")).Tag()
}
