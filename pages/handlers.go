package pages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/locale"
	"github.com/seed06f30684/caddy-kratos/text"
)

// Backend is what the pages read from the self-service flows. The flows
// package provides it; the pages never change a flow.
type Backend interface {
	// LoadFlow reads a flow of a kind; a missing, malformed or unknown id
	// is an *apierror.Error.
	LoadFlow(ctx context.Context, id, kind string) (*identity.Flow, error)
	// Current is the request's usable session and identity (nil without).
	Current(r *http.Request) (*identity.Session, *identity.Identity, error)
	// SessionAndFlow reads the session, its identity and a settings flow
	// in one round trip.
	SessionAndFlow(r *http.Request, flowID string) (*identity.Session, *identity.Identity, *identity.Flow, error)
	// CSRFFromCookie is the real CSRF token of the request's cookie, or nil.
	CSRFFromCookie(r *http.Request) []byte
	// EnsureCSRF is the real CSRF token, setting the cookie when missing.
	EnsureCSRF(w http.ResponseWriter, r *http.Request) []byte
	// FlowUI is the form a flow shows, as its JSON has it.
	FlowUI(f *identity.Flow, id *identity.Identity) identity.UI
	LegacyJSON(r *http.Request, f *identity.Flow, id *identity.Identity) wire.LegacyRequest
	// AfterURL is where a browser goes after a flow with this return_to.
	AfterURL(r *http.Request, returnTo string) string
	// LogoutURL is the browser logout URL of the request's session.
	LogoutURL(r *http.Request, returnTo string) (string, string)
	// CheckCSRF verifies a submitted CSRF token against the request's
	// cookie; the error is the CSRF violation.
	CheckCSRF(r *http.Request, token string) error
	// OtherSessions is the identity's active sessions other than current.
	OtherSessions(r *http.Request, current *identity.Session) ([]*identity.Session, error)
	// RevokeOtherSessions revokes every session of the identity but current.
	RevokeOtherSessions(r *http.Request, current *identity.Session) (int, error)
	// RevokeOwnSession revokes one of the identity's other sessions; any
	// other id changes nothing.
	RevokeOwnSession(r *http.Request, current *identity.Session, id string) error
}

// Handler answers the built-in pages under <prefix>/ui/.
type Handler struct {
	Backend  Backend
	Flows    identity.Flows
	Site     *siteurl.Site
	Renderer *Renderer
	Now      func() time.Time
	// StoreLog gets store failures (sampled).
	StoreLog *zap.Logger
	// Recovery: the sign-in page offers "Forgot your password?".
	Recovery bool
}

// The built-in UI: server-rendered pages for every UI URL the site owner did
// not configure, under <prefix>/ui/. Each page renders a flow from the same
// JSON the API returns (flowJSON, legacyJSON) with html/template, so it needs
// no JavaScript. The pages never change a flow; they only show it with a
// freshly masked CSRF token, and send the browser back to the flow's init
// endpoint when there is nothing (valid) to show.

// CookieLoopWindow: a login or registration flow this young whose page is
// opened without the CSRF cookie was created a moment ago by a browser that
// does not keep cookies; restarting it again would loop, so the page says
// why instead.
const CookieLoopWindow = 10 * time.Second

// isProtocolError reports whether err is one of ours (a missing, malformed or
// unknown flow id), as opposed to a store failure.
func isProtocolError(err error) bool {
	var e *apierror.Error
	return errors.As(err, &e)
}

// restartFlow sends the browser to a flow's init endpoint.
func (s *Handler) restartFlow(w http.ResponseWriter, r *http.Request, initPath string, q url.Values) {
	reply.Redirect(w, s.Site.PublicURL(r, initPath, q), http.StatusSeeOther)
}

// reauthReason says what a refresh login for a paused settings change
// confirms: "Confirm it's you to change E-Mail." with the changed fields'
// labels, from the settings flow its return_to names; the general words
// when that flow cannot tell.
func (s *Handler) reauthReason(r *http.Request, l *locale.Lang, returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil {
		return l.String("reauth.settings", nil)
	}
	f, err := s.Backend.LoadFlow(r.Context(), u.Query().Get("flow"), identity.KindSettings)
	if err != nil || len(f.Paused) == 0 {
		return l.String("reauth.settings", nil)
	}
	labels := map[string]string{}
	for _, n := range f.UI.Nodes {
		labels[n.Attributes.Name] = NodeLabel(l, n)
	}
	var names []string
	for _, name := range f.Paused {
		switch {
		case name == "password":
			names = append(names, l.String("reauth.the_password", nil))
		case labels[name] != "":
			names = append(names, l.String("reauth.your_field", map[string]any{"label": labels[name]}))
		default:
			names = append(names, l.String("reauth.your_field", map[string]any{"label": Humanise(name)}))
		}
	}
	return l.String("reauth.change", map[string]any{"fields": strings.Join(names, ", ")})
}

// pageFlow loads the browser flow of kind that the page's ?flow= names.
// When there is none to show (unknown, expired, not a browser's), it sends
// the browser to the kind's init endpoint with restart's query, which keeps
// what the flow was started with (its return_to, a refresh); a store
// failure is the error page. ok is false when it has answered.
func (s *Handler) pageFlow(w http.ResponseWriter, r *http.Request, kind string, restart url.Values) (f *identity.Flow, ok bool) {
	initPath := "/self-service/" + kind + "/browser"
	f, err := s.Backend.LoadFlow(r.Context(), r.URL.Query().Get("flow"), kind)
	switch {
	case err != nil && isProtocolError(err):
		s.restartFlow(w, r, initPath, restart)
		return nil, false
	case err != nil:
		s.RenderError(w, r, err)
		return nil, false
	}
	if f.ReturnTo != "" {
		restart.Set("return_to", f.ReturnTo)
	}
	if f.Refresh {
		restart.Set("refresh", "true")
	}
	if f.Type != identity.TypeBrowser || f.Expired(s.Now()) {
		s.restartFlow(w, r, initPath, restart)
		return nil, false
	}
	return f, true
}

// maskCSRF puts the browser's CSRF token, masked, into the flow it is
// bound to. A browser without the cookie of the flow starts it again, or,
// when it was made a moment ago, is told that the page needs cookies (a
// restart would loop). ok is false when it has answered.
func (s *Handler) maskCSRF(w http.ResponseWriter, r *http.Request, f *identity.Flow, restart url.Values) (ok bool) {
	real := s.Backend.CSRFFromCookie(r)
	if real == nil || csrf.Hash(real) != f.CSRFTokenHash {
		if real == nil && s.Now().Sub(f.IssuedAt) < CookieLoopWindow {
			s.RenderError(w, r, errCookiesNeeded())
			return false
		}
		s.restartFlow(w, r, "/self-service/"+f.Kind+"/browser", restart)
		return false
	}
	form.SetCSRF(&f.UI, csrf.Mask(real))
	return true
}

// uiAuthPage answers GET <prefix>/ui/login?flow= and /ui/registration?flow=.
func (s *Handler) AuthPage(w http.ResponseWriter, r *http.Request, kind string) {
	q := r.URL.Query()
	initPath := "/self-service/" + kind + "/browser"
	restart := url.Values{}
	if v := q.Get("return_to"); v != "" {
		restart.Set("return_to", v)
	}
	if kind == identity.KindLogin && q.Get("refresh") == "true" {
		restart.Set("refresh", "true")
	}

	f, ok := s.pageFlow(w, r, kind, restart)
	if !ok {
		return
	}
	sess, id, err := s.Backend.Current(r)
	if err != nil {
		s.RenderError(w, r, err)
		return
	}
	// Signed in already (and not re-authenticating), or a refresh login
	// without a session: the init endpoint knows where to go.
	if (sess != nil && !f.Refresh) || (sess == nil && f.Refresh) {
		s.restartFlow(w, r, initPath, restart)
		return
	}
	if !s.maskCSRF(w, r, f, restart) {
		return
	}
	ui := s.Backend.FlowUI(f, nil)

	l := s.Renderer.Lang(r)
	p := &Page{Messages: Messages(l, ui.Messages, "")}
	back := url.Values{}
	if f.ReturnTo != "" {
		back.Set("return_to", f.ReturnTo)
	}
	site := Link{Text: l.String("page.back_to_site", nil), Href: s.Backend.AfterURL(r, "")}
	switch {
	case kind == identity.KindRegistration:
		p.Title = l.String("registration.title", nil)
		p.Forms = NodeForms(l, ui, "registration")
		p.Links = []Link{{Prefix: l.String("registration.have_account", nil), Text: l.String("registration.sign_in", nil),
			Href: s.Site.PublicURL(r, "/self-service/login/browser", back)}, site}
	case f.Refresh:
		p.Title = l.String("reauth.title", nil)
		if s.Site.IsSettingsEndpoint(r, f.ReturnTo) {
			p.Intro = s.reauthReason(r, l, f.ReturnTo)
		} else if ids := id.Identifiers(); len(ids) > 0 {
			p.Intro = l.String("page.signed_in_as", map[string]any{"identifier": ids[0]})
		}
		if !HasMessageID(ui.Messages, text.LoginReAuth().ID) {
			p.Messages = append([]Message{MessageOf(l, text.LoginReAuth(), "")}, p.Messages...)
		}
		p.Forms = NodeForms(l, ui, "login")
		for i := range p.Forms {
			for j := range p.Forms[i].Buttons {
				p.Forms[i].Buttons[j].Label = l.String("reauth.confirm", nil)
			}
		}
		p.Links = []Link{{Text: l.String("page.cancel", nil), Href: s.Backend.AfterURL(r, f.ReturnTo)}}
	default:
		p.Title = l.String("login.title", nil)
		p.Forms = NodeForms(l, ui, "login")
		p.Links = []Link{{Prefix: l.String("login.no_account", nil), Text: l.String("login.create_account", nil),
			Href: s.Site.PublicURL(r, "/self-service/registration/browser", back)}}
		if s.Recovery {
			p.Links = append(p.Links, Link{Text: l.String("login.forgot_password", nil), Href: s.Site.PublicURL(r, "/self-service/recovery/browser", back)})
		}
		p.Links = append(p.Links, site)
	}
	p.Heading = p.Title
	s.Renderer.Render(w, r, http.StatusOK, p)
}

// uiSettingsPage answers GET <prefix>/ui/settings?flow=. It reads the
// session and the flow in one store round trip, as a submit does.
func (s *Handler) SettingsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	restart := url.Values{}
	if v := q.Get("return_to"); v != "" {
		restart.Set("return_to", v)
	}
	signIn := func() { // and then back to this page
		here := s.Site.PublicURL(r, siteurl.SettingsPath, q)
		s.restartFlow(w, r, "/self-service/login/browser", url.Values{"return_to": {here}})
	}
	sess, id, f, err := s.Backend.SessionAndFlow(r, q.Get("flow"))
	switch {
	case err != nil && isProtocolError(err):
		// No such flow: a new one, once the browser is signed in.
		if sess, _, err := s.Backend.Current(r); err == nil && sess == nil {
			signIn()
			return
		}
		s.restartFlow(w, r, "/self-service/settings/browser", restart)
		return
	case err != nil:
		s.RenderError(w, r, err)
		return
	case sess == nil:
		signIn()
		return
	case f.IdentityID != id.ID:
		s.RenderError(w, r, apierror.IdentityMismatch())
		return
	}
	if f.ReturnTo != "" {
		restart.Set("return_to", f.ReturnTo)
	}
	if f.Type != identity.TypeBrowser || f.Expired(s.Now()) {
		s.restartFlow(w, r, "/self-service/settings/browser", restart)
		return
	}
	realCSRF := s.Backend.EnsureCSRF(w, r)
	form.SetCSRF(&f.UI, csrf.Mask(realCSRF))
	devices, err := s.devicesOf(r, sess, csrf.Mask(realCSRF), f.ID)
	if err != nil {
		s.RenderError(w, r, err)
		return
	}
	logoutURL, _ := s.Backend.LogoutURL(r, "")
	ui := s.Backend.FlowUI(f, id)

	l := s.Renderer.Lang(r)
	title := l.String("settings.title", nil)
	p := &Page{Title: title, Heading: title, SignOut: logoutURL}
	if ids := id.Identifiers(); len(ids) > 0 {
		p.Intro = l.String("page.signed_in_as", map[string]any{"identifier": ids[0]})
	}
	p.Messages = Messages(l, ui.Messages, "")
	if f.State == identity.StateSuccess && !HasMessageID(ui.Messages, text.SettingsSaved().ID) {
		p.Messages = append([]Message{MessageOf(l, text.SettingsSaved(), "")}, p.Messages...)
	}
	p.Forms = NodeForms(l, ui, "settings")
	for i := range p.Forms {
		for j := range p.Forms[i].Fields {
			if f := &p.Forms[i].Fields[j]; f.Name == "password" {
				f.Label = l.String("settings.new_password", nil)
			}
		}
	}
	p.Forms = append(s.pendingChangeForms(r, l, id, f.UI.Action, csrf.Mask(realCSRF)), p.Forms...)
	p.Devices = devices
	p.Links = []Link{{Text: l.String("page.back_to_site", nil), Href: s.Backend.AfterURL(r, f.ReturnTo)}}
	if pc := id.PendingChange; pc != nil && pc.VerificationFlowID != "" {
		// Where the code from the new address is entered.
		enter := Link{Text: l.String("settings.enter_code", nil), Href: siteurl.WithQuery(s.Site.VerificationUI(r), "flow", pc.VerificationFlowID)}
		p.Links = append([]Link{enter}, p.Links...)
	}
	s.Renderer.Render(w, r, http.StatusOK, p)
}

// uiProfilePage answers GET <prefix>/ui/profile?request=: the legacy (seed
// 000) profile-management page, rendered from the legacy request JSON.
func (s *Handler) ProfilePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sess, id, err := s.Backend.Current(r)
	if err != nil {
		s.RenderError(w, r, err)
		return
	}
	if sess == nil {
		here := s.Site.PublicURL(r, siteurl.ProfilePath, q)
		s.restartFlow(w, r, "/self-service/login/browser", url.Values{"return_to": {here}})
		return
	}
	reqID := q.Get("request")
	if !identity.WellFormedID(reqID) {
		s.restartFlow(w, r, "/self-service/browser/flows/profile", nil)
		return
	}
	f, err := s.Flows.GetFlow(r.Context(), reqID)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		s.RenderError(w, r, err)
		return
	}
	// As the public fetch: an unknown request and another identity's look
	// the same, so request ids cannot be probed.
	if err != nil || f.Kind != identity.KindProfile || f.IdentityID != id.ID {
		s.RenderError(w, r, apierror.ProfileAccess, Link{Text: s.Renderer.Lang(r).String("profile.open_again", nil),
			Href: s.Site.PublicURL(r, "/self-service/browser/flows/profile", nil)})
		return
	}
	form.SetCSRF(&f.UI, csrf.Mask(s.Backend.EnsureCSRF(w, r)))
	lj := s.Backend.LegacyJSON(r, f, id)

	l := s.Renderer.Lang(r)
	title := l.String("profile.title", nil)
	p := &Page{Title: title, Heading: title}
	if ids := id.Identifiers(); len(ids) > 0 {
		p.Intro = l.String("page.signed_in_as", map[string]any{"identifier": ids[0]})
	}
	for _, e := range lj.Form.Errors {
		p.Messages = append(p.Messages, Message{Type: text.Error, Text: e.Message})
	}
	if lj.UpdateSuccessful && len(lj.Form.Errors) == 0 {
		p.Messages = append(p.Messages, MessageOf(l, text.SettingsSaved(), ""))
	}
	p.Forms = []Form{legacyUIForm(l, lj.Form, f.UI.Nodes)}
	p.Links = []Link{{Text: l.String("page.back_to_site", nil), Href: s.Site.DefaultReturn(r)}}
	s.Renderer.Render(w, r, http.StatusOK, p)
}

// uiErrorPage answers GET <prefix>/ui/error?id=: a stored error.
func (s *Handler) ErrorPage(w http.ResponseWriter, r *http.Request) {
	f, err := s.Backend.LoadFlow(r.Context(), r.URL.Query().Get("id"), identity.KindError)
	if err != nil {
		if isProtocolError(err) {
			err = apierror.NotFound("This error could not be found. It may have expired.")
		}
		s.RenderError(w, r, err)
		return
	}
	var body apierror.Body
	if json.Unmarshal(f.Error, &body) != nil || body.Code == 0 {
		body = apierror.Body{Code: http.StatusInternalServerError, Status: http.StatusText(http.StatusInternalServerError),
			Message: apierror.DefaultMessages[http.StatusInternalServerError]}
	}
	s.Renderer.Render(w, r, http.StatusOK, s.errorPage(r, body))
}

// renderError answers a UI page with an error page of the error's status.
func (s *Handler) RenderError(w http.ResponseWriter, r *http.Request, err error, links ...Link) {
	e := apierror.From(err, s.StoreLog)
	body := e.Envelope(r.Header.Get("X-Request-ID")).Error
	p := s.errorPage(r, body)
	p.Links = append(links, p.Links...)
	s.Renderer.Render(w, r, e.Code, p)
}

func (s *Handler) errorPage(r *http.Request, body apierror.Body) *Page {
	status := body.Status
	if status == "" {
		status = http.StatusText(body.Code)
	}
	message := body.Message
	if message == apierror.DefaultMessages[body.Code] {
		message = "" // says no more than the status
	}
	l := s.Renderer.Lang(r)
	p := &Page{
		Title: l.String("error.title", nil), Heading: l.String("error.title", nil),
		Error: &Error{Code: body.Code, Status: status, Message: message, Reason: body.Reason, ID: body.ID},
		Links: []Link{{Text: l.String("page.back_to_site", nil), Href: s.Site.Absolute(r, "/")}},
	}
	// A refused flow names where it starts again (flows' withRestart):
	// offered only when it is this site's own self-service endpoint.
	if restart, _ := body.Details["restart_url"].(string); restart != "" && strings.HasPrefix(restart, s.Site.PublicURL(r, "/self-service/", nil)) {
		p.Links = append([]Link{{Text: l.String("error.start_again", nil), Href: restart}}, p.Links...)
	}
	return p
}

// errCookiesNeeded: the browser did not send the CSRF cookie it was just given.
func errCookiesNeeded() *apierror.Error {
	e := apierror.BadRequest("Your browser did not send back the cookie this page needs. Please allow cookies for this site and try again.")
	e.ID = "security_csrf_violation"
	e.Message = "cookies are required"
	return e
}

// uiStylesheet answers GET <prefix>/ui/style.css: the built-in CSS.
func (s *Handler) Stylesheet(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("ETag", `"`+CSSVersion+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(CSS))
}

// legacyUIForm is the legacy request's form: its fields in the order of the
// flow's nodes (schema order; the JSON object has none), labelled and typed
// from the nodes, valued, disabled and with errors as the legacy JSON says.
func legacyUIForm(l *locale.Lang, lf wire.LegacyForm, nodes []identity.Node) Form {
	out := Form{ID: "profile", Action: lf.Action, Method: FormMethod(lf.Method)}
	seen := map[string]bool{}
	add := func(n identity.Node, f wire.LegacyField) {
		seen[f.Name] = true
		n.Attributes.Name = f.Name
		if n.Attributes.Type == "" {
			n.Attributes.Type = f.Type
		}
		var ms []Message
		for _, e := range f.Errors {
			ms = append(ms, Message{Type: text.Error, Text: e.Message})
		}
		field := out.Add(n, NodeLabel(l, n), f.Value, f.Disabled, ms)
		if field != nil && f.Disabled {
			field.Hint = l.String("profile.locked", nil)
		}
	}
	for _, n := range nodes {
		if f, ok := lf.Fields[n.Attributes.Name]; ok && !seen[f.Name] {
			add(n, f)
		}
	}
	rest := make([]string, 0, len(lf.Fields))
	for name := range lf.Fields {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		f := lf.Fields[name]
		add(identity.Node{Type: "input", Attributes: identity.InputAttributes{Name: f.Name, Type: f.Type}}, f)
	}
	out.Buttons = append(out.Buttons, Button{Label: l.String("page.save", nil)})
	return out
}
