package flows

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/recordcopy"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/schema"
	"github.com/seed06f30684/caddy-kratos/text"
)

// settingsFlow answers the settings flow (Kratos v1), paused changes and their resumption included.
type settingsFlow struct{ *Service }

// continuityTTL is how long a paused browser submission waits for the
// refresh login.
const continuityTTL = 15 * time.Minute

var (
	msgNoChanges = text.NoChanges()
	msgConflict  = text.ProfileConflict()
)

// settingsNodes is the settings form: the profile method (traits) and the
// password method.
func (s settingsFlow) settingsNodes(traits map[string]any) []identity.Node {
	fields := form.Traits(s.cfg.Schema, identity.GroupProfile, traits)
	nodes := make([]identity.Node, 0, len(fields)+4)
	nodes = append(nodes, form.CSRF(""))
	nodes = append(nodes, fields...)
	nodes = append(nodes, form.Submit(identity.GroupProfile, "profile", text.NodeLabelSave()))
	return append(nodes, form.Password("new-password"), form.Submit(identity.GroupPassword, "password", text.NodeLabelSave()))
}

// refreshURL is where a session too old for a protected change is sent: a
// refresh login that comes back, as in Kratos, through the public settings
// endpoint (GET /self-service/settings?flow=), which applies a paused
// browser change and then shows the flow in the settings UI.
func (s settingsFlow) refreshURL(r *http.Request, f *identity.Flow) string {
	back := s.site.PublicURL(r, "/self-service/settings", url.Values{"flow": {f.ID}})
	return s.site.PublicURL(r, "/self-service/login/browser", url.Values{"refresh": {"true"}, "return_to": {back}})
}

// settingsInit answers GET /self-service/settings/{browser,api}.
func (s settingsFlow) settingsInit(w http.ResponseWriter, r *http.Request, typ string) error {
	fail := s.failer(typ)
	// The new flow is made from the identity, which nothing here changes.
	sess, id, err := s.ViewCurrent(r)
	if err != nil {
		return fail(err)
	}
	returnTo, err := s.site.CheckReturnTo(r, r.URL.Query().Get("return_to"))
	if err != nil {
		return fail(err)
	}
	if sess == nil {
		if typ == identity.TypeBrowser && !negotiate.WantsJSON(r) {
			q := url.Values{}
			if returnTo != "" {
				q.Set("return_to", returnTo)
			}
			reply.Redirect(w, s.site.PublicURL(r, "/self-service/login/browser", q), http.StatusSeeOther)
			return nil
		}
		e := apierror.SessionInactive()
		e.Reason = "This endpoint can only be accessed with a valid session. Please log in and try again."
		return apierror.AsJSON(e)
	}
	if id, err = s.dropStalePendingChange(r.Context(), id); err != nil {
		return fail(err)
	}
	f := s.newSettingsFlow(w, r, typ, returnTo, id)
	if err := s.cfg.Store.SaveFlow(r.Context(), s.storedSettingsFlow(f)); err != nil {
		return fail(err)
	}
	s.sendNewFlow(w, r, f, id, s.site.SettingsUI(r))
	return nil
}

func (s settingsFlow) newSettingsFlow(w http.ResponseWriter, r *http.Request, typ, returnTo string, id *identity.Identity) *identity.Flow {
	f := s.newFlow(r, identity.KindSettings, typ, returnTo)
	f.ID = identity.NewIDFor(id.ID)
	f.IdentityID, f.IdentityVersion = id.ID, id.Version
	f.UI.Action = s.flowAction(r, identity.KindSettings, f.ID)
	f.UI.Nodes = s.settingsNodes(id.Traits)
	s.renewCSRF(w, r, f)
	return f
}

// errNoSessionForFlow is the 401 of a settings request without a session.
func errNoSessionForFlow() *apierror.Error {
	e := apierror.SessionInactive()
	e.ID = ""
	e.Reason = "A valid Ory Session Cookie or Ory Session Token is missing."
	return e
}

// settingsFetch answers GET /self-service/settings/flows?id=.
func (s settingsFlow) settingsFetch(w http.ResponseWriter, r *http.Request) error {
	sess, id, f, err := s.sessionAndFlow(r, r.URL.Query().Get("id"))
	switch {
	case err != nil:
		return apierror.AsJSON(err)
	case sess == nil && !negotiate.WantsJSON(r):
		reply.Redirect(w, s.site.LoginUI(r), http.StatusFound)
		return nil
	case sess == nil:
		return apierror.AsJSON(errNoSessionForFlow())
	case f.IdentityID != id.ID:
		return apierror.AsJSON(apierror.IdentityMismatch())
	}
	if f.Expired(s.cfg.Now()) {
		return apierror.AsJSON(s.expiredFetch(r, f))
	}
	if real := s.cookies.csrfFromCookie(r); real != nil && f.Type == identity.TypeBrowser {
		form.SetCSRF(&f.UI, csrf.Mask(real))
	}
	reply.JSON(w, http.StatusOK, s.flowJSON(r, f, id))
	return nil
}

// sessionAndFlow reads the caller's session, its identity and a settings
// flow in one store round trip. A missing session is (nil, nil, f, nil); a
// missing flow is an error. The session and identity may be shared with
// other requests: a change is made to a copy (cloneIdentity).
func (s *Service) sessionAndFlow(r *http.Request, flowID string) (*identity.Session, *identity.Identity, *identity.Flow, error) {
	if !identity.WellFormedID(flowID) {
		return nil, nil, nil, apierror.FlowIDMissing()
	}
	token := sessionToken(r)
	var (
		sess *identity.Session
		id   *identity.Identity
		f    *identity.Flow
		err  error
	)
	if identity.WellFormedSessionToken(token) {
		sess, id, f, err = s.cfg.Store.GetSessionAndFlow(r.Context(), token, flowID)
		if errors.Is(err, identity.ErrNotFound) {
			sess, id, err = nil, nil, nil
			f, err = s.cfg.Store.GetFlow(r.Context(), flowID)
		}
	} else {
		f, err = s.cfg.Store.GetFlow(r.Context(), flowID)
	}
	if errors.Is(err, identity.ErrNotFound) || (err == nil && (f == nil || f.Kind != identity.KindSettings)) {
		return nil, nil, nil, apierror.NotFound("The settings request could not be found. Please restart the flow.")
	}
	if err != nil {
		return nil, nil, nil, err
	}
	s.withSettingsForm(f)
	if sess != nil && !s.usable(sess, id) {
		sess, id = nil, nil
	}
	return sess, id, f, nil
}

// pausedSubmission is a browser's settings submission waiting for a
// refresh login (the continuity record). It holds no secret in cleartext:
// no csrf_token, and for the password method only the new password's hash,
// made when the submission was paused (after the password policy passed).
type pausedSubmission struct {
	FlowID     string `json:"flow_id"`
	IdentityID string `json:"identity_id"`
	// PasswordHash is a paused password change: the new password, hashed.
	PasswordHash string `json:"password_hash,omitempty"`
	// Form is a paused profile change: the submission without csrf_token.
	Form url.Values `json:"form,omitempty"`
}

// change returns the change a paused submission replays. A password is only
// ever replayed from its hash: a form asking for a password change is
// refused.
func (p pausedSubmission) change(sch *schema.Schema) (change, error) {
	if p.PasswordHash != "" {
		return change{method: "password", passwordHash: p.PasswordHash}, nil
	}
	ch, err := settingsChange(sch, &body.Body{Form: p.Form})
	if err == nil && ch.method != "profile" {
		err = errors.New("a paused submission of method " + ch.method + " without a hash")
	}
	return ch, err
}

// settingsSubmit answers POST /self-service/settings?flow= (and GET, which
// resumes a paused submission).
func (s settingsFlow) settingsSubmit(w http.ResponseWriter, r *http.Request) error {
	sess, id, f, err := s.sessionAndFlow(r, r.URL.Query().Get("flow"))
	switch {
	case err != nil:
		return err
	case sess == nil && !negotiate.WantsJSON(r):
		// Whatever the flow's type: only a request that counts as JSON gets
		// the 401 (docs/api.md, "Settings").
		reply.Redirect(w, s.site.LoginUI(r), http.StatusFound)
		return nil
	case sess == nil:
		return apierror.AsJSON(errNoSessionForFlow())
	case f.IdentityID != id.ID:
		return s.failer(f.Type)(apierror.IdentityMismatch())
	}
	if r.Method == http.MethodGet {
		s.resumeSettings(w, r, sess, id, f)
		return nil
	}
	b, err := body.Read(w, r)
	if err != nil {
		return s.failer(f.Type)(err)
	}
	return s.submitSettings(w, r, sess, id, f, b)
}

// submitSettings decodes one settings submission, runs it through the
// state machine (statemachine.go) and answers with its outcome.
func (s settingsFlow) submitSettings(w http.ResponseWriter, r *http.Request, sess *identity.Session, id *identity.Identity, f *identity.Flow, b *body.Body) error {
	fail := s.failer(f.Type)
	// Expiry comes first, as in Kratos: an expired flow is replaced
	// (submit's expired outcome) whatever the body and CSRF token.
	isExpired := f.Expired(s.cfg.Now())
	submitterErr := s.checkSubmitter(r, f, id, b)
	if submitterErr != nil && !isExpired {
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, "rejected")
		return fail(s.withRestart(r, f, submitterErr))
	}
	ch, err := settingsChange(s.cfg.Schema, b)
	changeErr := err
	if errors.Is(err, errNoSettingsStrategy) && !isExpired {
		form.ClearMessages(&f.UI)
		s.renewCSRF(w, r, f)
		f.UI.Messages = []text.Message{text.SettingsNoStrategy()}
		f.UpdatedAt = s.cfg.Now()
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
			return fail(err)
		}
		s.sendFormResult(w, r, f, id, http.StatusBadRequest, s.site.SettingsUI(r))
		return nil
	}
	if err != nil && !isExpired {
		return fail(err)
	}
	s.renewCSRF(w, r, f)
	if ch.cancelPending && !isExpired {
		return s.cancelAddressChange(w, r, f, id)
	}
	o, updated, err := stateMachine(s).submit(r.Context(), f, sess, id, ch)
	if err != nil {
		return fail(err)
	}
	switch o {
	case saved:
		s.sendSettingsSuccess(w, r, f, sess, updated)
	case invalid:
		s.sendFormResult(w, r, f, id, http.StatusBadRequest, s.site.SettingsUI(r))
	case conflict:
		s.sendFormResult(w, r, f, id, http.StatusConflict, s.site.SettingsUI(r))
	case refreshRequired:
		return s.pauseSettings(w, r, f, id, ch, updated, b)
	case held:
		return s.sendAddressChangeHeld(w, r, f, updated)
	case expired:
		// The replacement keeps the traits typed, when the submit passed
		// the flow's checks (never a password).
		shown := id.Traits
		if submitterErr == nil && changeErr == nil && ch.method == "profile" && len(ch.traits) > 0 {
			shown = ch.traits
		}
		return s.replaceExpired(w, r, f, func(nf *identity.Flow) {
			nf.IdentityVersion = id.Version
			nf.UI.Nodes = s.settingsNodes(shown)
		}, s.site.SettingsUI(r))
	}
	return nil
}

// settingsChange decodes a settings submission of the profile or password
// method; unknown fields and methods are refused.
func settingsChange(sch *schema.Schema, b *body.Body) (change, error) {
	method, err := b.Str("method")
	if err != nil {
		return change{}, err
	}
	ch := change{method: method}
	switch method {
	case "profile":
		if err := b.CheckFields("method", "csrf_token", "traits", "traits.", "flow", "transient_payload", "pending_change"); err != nil {
			return ch, err
		}
		if ch.cancelPending, err = pendingChangeCancel(b); ch.cancelPending || err != nil {
			return ch, err
		}
		ch.traits, err = b.Traits(sch)
		ch.traitsAbsent = !b.Has("traits") && !b.Has("traits.")
	case "password":
		if err := b.CheckFields("method", "csrf_token", "password", "flow", "transient_payload"); err != nil {
			return ch, err
		}
		ch.password, err = b.Str("password")
	default:
		err = errNoSettingsStrategy
	}
	return ch, err
}

// errNoSettingsStrategy: the submission names no method we have; it is
// answered with the flow and a message, as Kratos does.
var errNoSettingsStrategy = errors.New("no settings strategy")

// cloneIdentity is a deep copy of id, as a JSON round trip makes it.
func cloneIdentity(id *identity.Identity) *identity.Identity {
	if c, err := recordcopy.Clone(id); err == nil {
		return c
	}
	raw, _ := json.Marshal(id)
	var out identity.Identity
	_ = json.Unmarshal(raw, &out)
	return &out
}

// setAt sets a value at a path, creating objects on the way.
func setAt(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// pauseSettings holds a protected change until the session is refreshed.
// Browsers' form posts wait in a continuity record and are applied after the
// refresh login; SPA and API callers get 403 and the flow keeps the values
// they sent, so the same flow can be submitted again after re-authenticating.
// updated is the identity as the change would save it: a paused password
// change keeps its hash from there, never the password itself.
func (s settingsFlow) pauseSettings(w http.ResponseWriter, r *http.Request, f *identity.Flow, id *identity.Identity, ch change, updated *identity.Identity, b *body.Body) error {
	to := s.refreshURL(r, f)
	if f.Type == identity.TypeAPI || negotiate.WantsJSON(r) || b.Form == nil {
		return apierror.AsJSON(apierror.RefreshRequired(to))
	}
	p := pausedSubmission{FlowID: f.ID, IdentityID: id.ID}
	switch ch.method {
	case "password":
		if updated == nil || updated.Password == nil || updated.Password.HashedPassword == "" {
			return errors.New("flows: a paused password change without a hash")
		}
		p.PasswordHash = updated.Password.HashedPassword
	default:
		p.Form = url.Values{}
		for k, v := range b.Form {
			if k != "csrf_token" && k != "password" {
				p.Form[k] = v
			}
		}
	}
	cid := identity.NewID()
	raw, err := json.Marshal(p)
	if err == nil {
		err = s.cfg.Store.SaveContinuity(r.Context(), cid, raw, continuityTTL)
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, s.cookies.cookie(r, ContinuityCookie, cid, continuityTTL))
	reply.Redirect(w, to, http.StatusSeeOther)
	return nil
}

// resumeSettings answers GET /self-service/settings?flow=, where a refresh
// login sends the browser back: a paused change of this flow (continuity
// cookie) is applied when the session is privileged now, and the browser
// is sent on to the settings UI showing the flow.
func (s settingsFlow) resumeSettings(w http.ResponseWriter, r *http.Request, sess *identity.Session, id *identity.Identity, f *identity.Flow) {
	s.resumePaused(w, r, sess, id, f)
	reply.Redirect(w, siteurl.WithQuery(s.site.SettingsUI(r), "flow", f.ID), http.StatusSeeOther)
}

// resumePaused applies the browser's paused submission of flow f. Nothing
// happens unless the session is privileged now and the paused submission
// is this flow's, by this identity.
func (s settingsFlow) resumePaused(w http.ResponseWriter, r *http.Request, sess *identity.Session, id *identity.Identity, f *identity.Flow) {
	c, err := r.Cookie(ContinuityCookie)
	if err != nil || c.Value == "" || !sess.IsPrivileged(s.cfg.Now(), s.cfg.PrivilegedSessionMaxAge) {
		return
	}
	http.SetCookie(w, s.cookies.cookie(r, ContinuityCookie, "", -1))
	raw, err := s.cfg.Store.TakeContinuity(r.Context(), c.Value)
	if err != nil {
		return
	}
	var p pausedSubmission
	if json.Unmarshal(raw, &p) != nil || p.IdentityID != id.ID || p.FlowID != f.ID {
		return
	}
	ch, err := p.change(s.cfg.Schema)
	if err != nil {
		s.cfg.Logger.Info("paused settings change dropped", zap.Error(err))
		return
	}
	o, updated, err := stateMachine(s).submit(r.Context(), f, sess, id, ch)
	if err == nil && o == held {
		_, err = s.startAddressVerification(w, r, f, updated)
	}
	if err != nil || (o != saved && o != held) {
		s.cfg.Logger.Info("paused settings change not applied", zap.String("outcome", o.result()), zap.Error(err))
	}
}

// sendSettingsSuccess answers a saved settings change. A browser flow's
// answer re-issues the session cookie, same token and expiry, as Kratos
// does (docs/api.md, "Settings").
func (s settingsFlow) sendSettingsSuccess(w http.ResponseWriter, r *http.Request, f *identity.Flow, sess *identity.Session, id *identity.Identity) {
	out := s.flowJSON(r, f, id)
	if f.Type == identity.TypeBrowser {
		if token := sessionToken(r); token != "" {
			s.cookies.setSessionCookie(w, r, token, sess.ExpiresAt)
		}
	}
	switch {
	case f.Type == identity.TypeAPI:
		reply.JSON(w, http.StatusOK, out)
	case negotiate.WantsJSON(r):
		to := f.ReturnTo
		if to == "" {
			to = siteurl.WithQuery(s.site.SettingsUI(r), "flow", f.ID)
		}
		out.ContinueWith = []wire.ContinueWith{{Action: "redirect_browser_to", RedirectBrowserTo: to}}
		reply.JSON(w, http.StatusOK, out)
	default:
		to := f.ReturnTo
		if to == "" {
			to = siteurl.WithQuery(s.site.SettingsUI(r), "flow", f.ID)
		}
		reply.Redirect(w, to, http.StatusSeeOther)
	}
}
