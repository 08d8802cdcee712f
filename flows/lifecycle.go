package flows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/text"
)

// The life of every flow, whatever its kind or API generation:
//
//	created (show_form) ──submit, valid──────────────▶ success (still submittable)
//	     │  ▲                                              │
//	     │  └──submit, invalid: errors on the nodes ◀──────┘
//	     ├──submit, protected change on an old session──▶ paused: the browser's
//	     │     submission waits in a continuity record, SPA/API keep the values
//	     │     in the nodes; a refresh login resumes it
//	     └──now ≥ expires_at──▶ expired: fetches answer 410, submits get a
//	           replacement flow (Kratos v1) or a form error (legacy)
//
// The transitions of settings flows and legacy profile requests are one
// function, submit in statemachine.go; login and registration use the
// same states and the helpers below. The per-kind files only decode
// requests, build forms and encode outcomes.

// newFlow returns a fresh flow of a kind and type; actionPath is the public
// path its form posts to (the flow id is added as ?flow=).
func (s *Service) newFlow(r *http.Request, kind, typ, returnTo string) *identity.Flow {
	now := s.cfg.Now()
	s.cfg.Metrics.FlowCreated(kind, typ)
	state := identity.StateShowForm
	if kind == identity.KindLogin || kind == identity.KindRegistration {
		state = identity.StateChooseMethod
	}
	return &identity.Flow{
		ID: identity.NewFlowID(now), Kind: kind, Type: typ, State: state,
		IssuedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.FlowLifespan),
		RequestURL: s.requestURL(r), ReturnTo: returnTo,
		UI: identity.UI{Method: "POST"},
	}
}

// requestURL is the absolute URL of the request as the public sees it.
func (s *Service) requestURL(r *http.Request) string {
	u := s.site.Base(r)
	u.Path = s.cfg.PublicPrefix + r.URL.Path // the handlers see the path without the prefix
	u.RawQuery = r.URL.RawQuery
	return u.String()
}

// flowAction is the form action of a Kratos v1 flow.
func (s *Service) flowAction(r *http.Request, kind, id string) string {
	return s.site.PublicURL(r, "/self-service/"+kind, url.Values{"flow": {id}})
}

// loadFlow reads a flow of a kind; an unknown id, or one of another kind, is
// 404 (or 400 when the id is missing or malformed).
func (s *Service) loadFlow(ctx context.Context, id, kind string) (*identity.Flow, error) {
	if !identity.WellFormedID(id) {
		return nil, apierror.FlowIDMissing()
	}
	f, err := s.cfg.Store.GetFlow(ctx, id)
	if errors.Is(err, identity.ErrNotFound) || (err == nil && f.Kind != kind) {
		return nil, apierror.NotFound("The %s request could not be found. Please restart the flow.", kind)
	}
	if err != nil {
		return nil, err
	}
	s.withForm(f)
	return f, nil
}

// sendNewFlow answers the init request of a flow: the flow JSON for JSON
// callers and API flows, else a redirect to the UI with ?flow=.
func (s *Service) sendNewFlow(w http.ResponseWriter, r *http.Request, f *identity.Flow, id *identity.Identity, ui string) {
	if f.Type == identity.TypeAPI || negotiate.WantsJSON(r) {
		reply.JSON(w, http.StatusOK, s.flowJSON(r, f, id))
		return
	}
	reply.Redirect(w, siteurl.WithQuery(ui, "flow", f.ID), http.StatusSeeOther)
}

// checkAPIRequest refuses browser traits on an API flow submit, as Kratos
// does: API flows use no cookies and no CSRF token, so a request with
// cookies or an Origin header is a browser that must use the browser flow.
func checkAPIRequest(r *http.Request) *apierror.Error {
	if r.Header.Get("Origin") != "" {
		return apierror.BadRequest(`The HTTP Request Header included the "Origin" key, indicating that this request was made as part of an AJAX request in a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.`)
	}
	var found []string
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, "__cf") && !strings.HasPrefix(c.Name, "_cf") && !strings.HasPrefix(c.Name, "cf_") {
			found = append(found, c.Name)
		}
	}
	if len(found) > 0 {
		e := apierror.BadRequest(`The HTTP Request Header included the "Cookie" key, indicating that this request was made by a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.`)
		e.Details = map[string]any{"found cookies": found}
		return e
	}
	return nil
}

// refusedWithFlow is a submit refused before anything was decided, answered
// as Kratos answers it: 400 with the flow, the reason as the flow's message
// (4000001). The flow is shown, not stored: nothing changes.
type refusedWithFlow struct {
	f   *identity.Flow
	id  *identity.Identity // a settings flow's identity; nil otherwise
	err *apierror.Error
}

func (e *refusedWithFlow) Error() string { return e.err.Error() }

// typedIntoExpired is the body of a submit to an expired flow, so that its
// replacement can keep what the person typed; an empty body unless the
// body reads and the submitter passes the flow's checks (its CSRF token),
// so that nobody else can fill a browser's next form.
func (s *Service) typedIntoExpired(w http.ResponseWriter, r *http.Request, f *identity.Flow) *body.Body {
	b, err := body.Read(w, r)
	if err != nil || s.checkSubmitter(r, f, nil, b) != nil {
		return &body.Body{}
	}
	return b
}

// withRestart adds to a browser flow's refusal (a CSRF failure) the URL
// that starts the flow again with the same return_to, as restart_url in
// the error's details: the error page offers it as "Start again".
func (s *Service) withRestart(r *http.Request, f *identity.Flow, err error) error {
	var e *apierror.Error
	if f.Type != identity.TypeBrowser || !errors.As(err, &e) {
		return err
	}
	restarted := *e
	restarted.Details = maps.Clone(e.Details)
	if restarted.Details == nil {
		restarted.Details = map[string]any{}
	}
	restarted.Details["restart_url"] = s.restartURL(r, f, identity.TypeBrowser)
	return &restarted
}

// checkSubmitter checks what protects a submit: the CSRF token for browser
// flows, the absence of browser traits for API flows. id is a settings
// flow's identity (nil for login and registration).
func (s *Service) checkSubmitter(r *http.Request, f *identity.Flow, id *identity.Identity, b *body.Body) error {
	if f.Type == identity.TypeAPI {
		if err := checkAPIRequest(r); err != nil {
			return &refusedWithFlow{f: f, id: id, err: err}
		}
		return nil
	}
	token, err := b.Str("csrf_token")
	if err != nil {
		return err
	}
	return s.cookies.checkCSRF(r, token)
}

// renewCSRF puts a freshly masked CSRF token into a browser flow's form
// (setting the cookie if needed), binding the flow to the cookie. API flows
// carry the node too, as in Kratos, with the value "": they are protected
// by refusing cookies instead.
func (s *Service) renewCSRF(w http.ResponseWriter, r *http.Request, f *identity.Flow) {
	if f.Type != identity.TypeBrowser {
		form.SetCSRF(&f.UI, "") // native apps use no CSRF token
		return
	}
	real := s.cookies.ensureCSRF(w, r)
	f.CSRFTokenHash = csrf.Hash(real)
	form.SetCSRF(&f.UI, csrf.Mask(real))
}

// expiredMessage is the message a replacement flow carries.
func expiredMessage(kind string, f *identity.Flow, s *Service) text.Message {
	return text.FlowExpired(kind, f.ExpiresAt, s.cfg.Now())
}

// sendFormResult answers a submit that left the flow showing its form
// (validation errors, wrong credentials, no changes): JSON callers and API
// flows get the flow with status code, browsers go back to the UI.
func (s *Service) sendFormResult(w http.ResponseWriter, r *http.Request, f *identity.Flow, id *identity.Identity, code int, ui string) {
	if f.Type == identity.TypeAPI || negotiate.WantsJSON(r) {
		reply.JSON(w, code, s.flowJSON(r, f, id))
		return
	}
	reply.Redirect(w, siteurl.WithQuery(ui, "flow", f.ID), http.StatusSeeOther)
}

// restartURL is the init endpoint that replaces the expired flow f, keeping
// its return_to.
func (s *Service) restartURL(r *http.Request, f *identity.Flow, typ string) string {
	q := url.Values{}
	if f.ReturnTo != "" {
		q.Set("return_to", f.ReturnTo)
	}
	return s.site.PublicURL(r, "/self-service/"+f.Kind+"/"+typ, q)
}

// expiredFetch is the answer to a fetch of the expired flow f, as Kratos
// v1.3.1 gives it: 410 saying where to start again, details.redirect_to
// (with the old return_to) and details.return_to for a browser flow,
// details.api for an API flow. Login and registration carry the id
// self_service_flow_expired; Kratos' settings fetch has none.
func (s *Service) expiredFetch(r *http.Request, f *identity.Flow) *apierror.Error {
	var e *apierror.Error
	if f.Type == identity.TypeAPI {
		e = apierror.FlowGone(fmt.Sprintf("The %[1]s flow has expired. Call the %[1]s flow init API endpoint to initialize a new %[1]s flow.", f.Kind),
			map[string]any{"api": s.site.PublicURL(r, "/self-service/"+f.Kind+"/api", nil)})
	} else {
		e = apierror.FlowGone(fmt.Sprintf("The %[1]s flow has expired. Redirect the user to the %[1]s flow init endpoint to initialize a new %[1]s flow.", f.Kind),
			map[string]any{"redirect_to": s.restartURL(r, f, identity.TypeBrowser), "return_to": f.ReturnTo})
	}
	if f.Kind != identity.KindSettings {
		e.ID = "self_service_flow_expired"
	}
	return e
}

// openSubmit starts the submit of a login or registration flow: it loads
// the flow named by ?flow=, reads the body, refuses fields other than
// `fields` and checks the submitter (CSRF or API rules), and returns the
// error to answer with when any of that fails. An expired flow is returned at once, with
// an empty body: as in Kratos, expiry is decided before the body and CSRF,
// so the caller answers with a replacement flow whatever was sent.
func (s *Service) openSubmit(w http.ResponseWriter, r *http.Request, kind string, fields ...string) (*identity.Flow, *body.Body, error) {
	f, err := s.loadFlow(r.Context(), r.URL.Query().Get("flow"), kind)
	if err != nil {
		return nil, nil, err
	}
	if f.Expired(s.cfg.Now()) {
		return f, s.typedIntoExpired(w, r, f), nil
	}
	fail := s.failer(f.Type)
	b, err := body.Read(w, r)
	if err == nil {
		err = b.CheckFields(fields...)
	}
	if err != nil {
		return nil, nil, fail(err)
	}
	if err := s.checkSubmitter(r, f, nil, b); err != nil {
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, "rejected")
		return nil, nil, fail(s.withRestart(r, f, err))
	}
	return f, b, nil
}
