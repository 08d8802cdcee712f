package flows

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/pages"
	"github.com/seed06f30684/caddy-kratos/text"
)

// builtinPages answers the built-in UI pages: it reads the flow a page shows and
// renders it with the pages package.
type builtinPages struct{ *Service }

// The built-in UI: server-rendered pages for every UI URL the site owner did
// not configure, under <prefix>/ui/. Each page renders a flow from the same
// JSON the API returns (flowJSON, legacyJSON) with html/template, so it needs
// no JavaScript. The pages never change a flow; they only show it with a
// freshly masked CSRF token, and send the browser back to the flow's init
// endpoint when there is nothing (valid) to show.

// cookieLoopWindow: a login or registration flow this young whose page is
// opened without the CSRF cookie was created a moment ago by a browser that
// does not keep cookies; restarting it again would loop, so the page says
// why instead.
const cookieLoopWindow = 10 * time.Second

// isProtocolError reports whether err is one of ours (a missing, malformed or
// unknown flow id), as opposed to a store failure.
func isProtocolError(err error) bool {
	var e *apierror.Error
	return errors.As(err, &e)
}

// restartFlow sends the browser to a flow's init endpoint.
func (s builtinPages) restartFlow(w http.ResponseWriter, r *http.Request, initPath string, q url.Values) {
	reply.Redirect(w, s.site.PublicURL(r, initPath, q), http.StatusSeeOther)
}

// uiAuthPage answers GET <prefix>/ui/login?flow= and /ui/registration?flow=.
func (s builtinPages) uiAuthPage(w http.ResponseWriter, r *http.Request, kind string) error {
	q := r.URL.Query()
	initPath := "/self-service/" + kind + "/browser"
	restart := url.Values{}
	if v := q.Get("return_to"); v != "" {
		restart.Set("return_to", v)
	}
	if kind == identity.KindLogin && q.Get("refresh") == "true" {
		restart.Set("refresh", "true")
	}

	f, err := s.loadFlow(r.Context(), q.Get("flow"), kind)
	switch {
	case err != nil && isProtocolError(err):
		s.restartFlow(w, r, initPath, restart)
		return nil
	case err != nil:
		s.renderError(w, r, err)
		return nil
	}
	// A restart keeps what the flow was started with.
	if f.ReturnTo != "" {
		restart.Set("return_to", f.ReturnTo)
	}
	if f.Refresh {
		restart.Set("refresh", "true")
	}
	now := s.cfg.Now()
	if f.Type != identity.TypeBrowser || f.Expired(now) {
		s.restartFlow(w, r, initPath, restart)
		return nil
	}
	sess, id, err := s.Current(r)
	if err != nil {
		s.renderError(w, r, err)
		return nil
	}
	// Signed in already (and not re-authenticating), or a refresh login
	// without a session: the init endpoint knows where to go.
	if (sess != nil && !f.Refresh) || (sess == nil && f.Refresh) {
		s.restartFlow(w, r, initPath, restart)
		return nil
	}
	real := s.cookies.csrfFromCookie(r)
	if real == nil || csrf.Hash(real) != f.CSRFTokenHash {
		if real == nil && now.Sub(f.IssuedAt) < cookieLoopWindow {
			s.renderError(w, r, errCookiesNeeded())
			return nil
		}
		s.restartFlow(w, r, initPath, restart)
		return nil
	}
	form.SetCSRF(&f.UI, csrf.Mask(real))
	fj := s.flowJSON(r, f, nil)

	p := &pages.Page{Messages: pages.Messages(fj.UI.Messages)}
	back := url.Values{}
	if f.ReturnTo != "" {
		back.Set("return_to", f.ReturnTo)
	}
	switch {
	case kind == identity.KindRegistration:
		p.Title, p.Heading = "Create an account", "Create an account"
		p.Forms = pages.NodeForms(fj.UI, "registration")
		p.Links = []pages.Link{{Prefix: "Already have an account?", Text: "Sign in",
			Href: s.site.PublicURL(r, "/self-service/login/browser", back)}}
	case f.Refresh:
		p.Title, p.Heading = "Confirm it's you", "Confirm it's you"
		if ids := id.Identifiers(); len(ids) > 0 {
			p.Intro = "Signed in as " + ids[0]
		}
		if !pages.HasMessageID(fj.UI.Messages, text.LoginReAuth().ID) {
			p.Messages = append([]pages.Message{pages.MessageOf(text.LoginReAuth())}, p.Messages...)
		}
		p.Forms = pages.NodeForms(fj.UI, "login")
		p.Links = []pages.Link{{Text: "Cancel", Href: s.afterURL(r, f.ReturnTo)}}
	default:
		p.Title, p.Heading = "Sign in", "Sign in"
		p.Forms = pages.NodeForms(fj.UI, "login")
		p.Links = []pages.Link{{Prefix: "No account yet?", Text: "Create an account",
			Href: s.site.PublicURL(r, "/self-service/registration/browser", back)}}
	}
	s.pages.Render(w, r, http.StatusOK, p)
	return nil
}

// uiSettingsPage answers GET <prefix>/ui/settings?flow=. It reads the
// session and the flow in one store round trip, as a submit does.
func (s builtinPages) uiSettingsPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	restart := url.Values{}
	if v := q.Get("return_to"); v != "" {
		restart.Set("return_to", v)
	}
	signIn := func() { // and then back to this page
		here := s.site.PublicURL(r, siteurl.SettingsPath, q)
		s.restartFlow(w, r, "/self-service/login/browser", url.Values{"return_to": {here}})
	}
	sess, id, f, err := s.sessionAndFlow(r, q.Get("flow"))
	switch {
	case err != nil && isProtocolError(err):
		// No such flow: a new one, once the browser is signed in.
		if sess, _, err := s.Current(r); err == nil && sess == nil {
			signIn()
			return nil
		}
		s.restartFlow(w, r, "/self-service/settings/browser", restart)
		return nil
	case err != nil:
		s.renderError(w, r, err)
		return nil
	case sess == nil:
		signIn()
		return nil
	case f.IdentityID != id.ID:
		s.renderError(w, r, apierror.IdentityMismatch())
		return nil
	}
	if f.ReturnTo != "" {
		restart.Set("return_to", f.ReturnTo)
	}
	if f.Type != identity.TypeBrowser || f.Expired(s.cfg.Now()) {
		s.restartFlow(w, r, "/self-service/settings/browser", restart)
		return nil
	}
	form.SetCSRF(&f.UI, csrf.Mask(s.cookies.ensureCSRF(w, r)))
	logoutURL, _ := s.logoutURL(r, "")
	fj := s.flowJSON(r, f, id)

	p := &pages.Page{Title: "Account settings", Heading: "Account settings", SignOut: logoutURL}
	if ids := id.Identifiers(); len(ids) > 0 {
		p.Intro = "Signed in as " + ids[0]
	}
	p.Messages = pages.Messages(fj.UI.Messages)
	if fj.State == identity.StateSuccess && !pages.HasMessageID(fj.UI.Messages, text.SettingsSaved().ID) {
		p.Messages = append([]pages.Message{pages.MessageOf(text.SettingsSaved())}, p.Messages...)
	}
	p.Forms = pages.NodeForms(fj.UI, "settings")
	p.Links = []pages.Link{{Text: "Back to the site", Href: s.afterURL(r, f.ReturnTo)}}
	s.pages.Render(w, r, http.StatusOK, p)
	return nil
}

// uiProfilePage answers GET <prefix>/ui/profile?request=: the legacy (seed
// 000) profile-management page, rendered from the legacy request JSON.
func (s builtinPages) uiProfilePage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	sess, id, err := s.Current(r)
	if err != nil {
		s.renderError(w, r, err)
		return nil
	}
	if sess == nil {
		here := s.site.PublicURL(r, siteurl.ProfilePath, q)
		s.restartFlow(w, r, "/self-service/login/browser", url.Values{"return_to": {here}})
		return nil
	}
	reqID := q.Get("request")
	if !identity.WellFormedID(reqID) {
		s.restartFlow(w, r, "/self-service/browser/flows/profile", nil)
		return nil
	}
	f, err := s.cfg.Store.GetFlow(r.Context(), reqID)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		s.renderError(w, r, err)
		return nil
	}
	// As the public fetch: an unknown request and another identity's look
	// the same, so request ids cannot be probed.
	if err != nil || f.Kind != identity.KindProfile || f.IdentityID != id.ID {
		s.renderError(w, r, errProfileAccess, pages.Link{Text: "Open your profile again",
			Href: s.site.PublicURL(r, "/self-service/browser/flows/profile", nil)})
		return nil
	}
	form.SetCSRF(&f.UI, csrf.Mask(s.cookies.ensureCSRF(w, r)))
	lj := s.legacyJSON(r, f, id)

	p := &pages.Page{Title: "Your profile", Heading: "Your profile"}
	if ids := id.Identifiers(); len(ids) > 0 {
		p.Intro = "Signed in as " + ids[0]
	}
	for _, e := range lj.Form.Errors {
		p.Messages = append(p.Messages, pages.Message{Type: text.Error, Text: e.Message})
	}
	if lj.UpdateSuccessful && len(lj.Form.Errors) == 0 {
		p.Messages = append(p.Messages, pages.MessageOf(text.SettingsSaved()))
	}
	p.Forms = []pages.Form{legacyUIForm(lj.Form, f.UI.Nodes)}
	p.Links = []pages.Link{{Text: "Back to the site", Href: s.site.DefaultReturn(r)}}
	s.pages.Render(w, r, http.StatusOK, p)
	return nil
}

// uiErrorPage answers GET <prefix>/ui/error?id=: a stored error.
func (s builtinPages) uiErrorPage(w http.ResponseWriter, r *http.Request) error {
	f, err := s.loadFlow(r.Context(), r.URL.Query().Get("id"), identity.KindError)
	if err != nil {
		if isProtocolError(err) {
			err = apierror.NotFound("This error could not be found. It may have expired.")
		}
		s.renderError(w, r, err)
		return nil
	}
	var body apierror.Body
	if json.Unmarshal(f.Error, &body) != nil || body.Code == 0 {
		body = apierror.Body{Code: http.StatusInternalServerError, Status: http.StatusText(http.StatusInternalServerError),
			Message: apierror.DefaultMessages[http.StatusInternalServerError]}
	}
	s.pages.Render(w, r, http.StatusOK, s.errorPage(r, body))
	return nil
}

// renderError answers a UI page with an error page of the error's status.
func (s builtinPages) renderError(w http.ResponseWriter, r *http.Request, err error, links ...pages.Link) {
	e := apierror.From(err, s.storeLog)
	body := e.Envelope(r.Header.Get("X-Request-ID")).Error
	p := s.errorPage(r, body)
	p.Links = append(links, p.Links...)
	s.pages.Render(w, r, e.Code, p)
}

func (s builtinPages) errorPage(r *http.Request, body apierror.Body) *pages.Page {
	status := body.Status
	if status == "" {
		status = http.StatusText(body.Code)
	}
	message := body.Message
	if message == apierror.DefaultMessages[body.Code] {
		message = "" // says no more than the status
	}
	return &pages.Page{
		Title: "Something went wrong", Heading: "Something went wrong",
		Error: &pages.Error{Code: body.Code, Status: status, Message: message, Reason: body.Reason, ID: body.ID},
		Links: []pages.Link{{Text: "Back to the site", Href: s.site.Absolute(r, "/")}},
	}
}

// errCookiesNeeded: the browser did not send the CSRF cookie it was just given.
func errCookiesNeeded() *apierror.Error {
	e := apierror.BadRequest("Your browser did not send back the cookie this page needs. Please allow cookies for this site and try again.")
	e.ID = "security_csrf_violation"
	e.Message = "cookies are required"
	return e
}

// uiStylesheet answers GET <prefix>/ui/style.css: the built-in CSS.
func (s builtinPages) uiStylesheet(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("ETag", `"`+pages.CSSVersion+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(pages.CSS))
	return nil
}

// legacyUIForm is the legacy request's form: its fields in the order of the
// flow's nodes (schema order; the JSON object has none), labelled and typed
// from the nodes, valued, disabled and with errors as the legacy JSON says.
func legacyUIForm(lf wire.LegacyForm, nodes []identity.Node) pages.Form {
	form := pages.Form{ID: "profile", Action: lf.Action, Method: pages.FormMethod(lf.Method)}
	seen := map[string]bool{}
	add := func(n identity.Node, f wire.LegacyField) {
		seen[f.Name] = true
		n.Attributes.Name = f.Name
		if n.Attributes.Type == "" {
			n.Attributes.Type = f.Type
		}
		var ms []pages.Message
		for _, e := range f.Errors {
			ms = append(ms, pages.Message{Type: text.Error, Text: e.Message})
		}
		field := form.Add(n, pages.NodeLabel(n), f.Value, f.Disabled, ms)
		if field != nil && f.Disabled {
			field.Hint = "This can't be changed here."
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
	form.Buttons = append(form.Buttons, pages.Button{Label: "Save"})
	return form
}
