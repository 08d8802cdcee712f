package flows

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/text"
)

// loginFlow answers the login flow (Kratos v1): init, fetch and submit, refresh logins included.
type loginFlow struct{ *Service }

var msgInvalidCredentials = text.InvalidCredentials()

// loginInit answers GET /self-service/login/{browser,api}.
func (s loginFlow) loginInit(w http.ResponseWriter, r *http.Request, typ string) error {
	fail := s.failer(typ)
	sess, id, err := s.Current(r)
	if err != nil {
		return fail(err)
	}
	returnTo, err := s.site.CheckReturnTo(r, r.URL.Query().Get("return_to"))
	if err != nil {
		return fail(err)
	}
	refresh := r.URL.Query().Get("refresh") == "true" && sess != nil
	if sess != nil && !refresh {
		if typ == identity.TypeBrowser && !negotiate.WantsJSON(r) {
			reply.Redirect(w, s.afterURL(r, returnTo), http.StatusSeeOther)
			return nil
		}
		return apierror.AsJSON(apierror.SessionAlreadyAvailable())
	}
	f := s.newFlow(r, identity.KindLogin, typ, returnTo)
	f.Refresh = refresh
	f.UI.Action = s.flowAction(r, identity.KindLogin, f.ID)
	f.UI.Nodes = s.loginNodes(id, refresh)
	if refresh {
		f.UI.Messages = []text.Message{text.LoginReAuth()}
	}
	f.UI.Nodes = append([]identity.Node{form.CSRF("")}, f.UI.Nodes...)
	s.renewCSRF(w, r, f)
	if err := s.saveNewFlow(r.Context(), f); err != nil {
		return fail(err)
	}
	s.sendNewFlow(w, r, f, nil, s.site.LoginUI(r))
	return nil
}

// loginNodes are the password method's nodes; a refresh login fixes the
// identifier to the signed-in identity's, in a hidden input without a label.
func (s loginFlow) loginNodes(id *identity.Identity, refresh bool) []identity.Node {
	identifier := form.Input(identity.GroupDefault, "identifier", "hidden", nil)
	if refresh {
		if ids := id.Identifiers(); len(ids) > 0 {
			identifier.Attributes.Value = ids[0]
		}
	} else {
		identifier = s.identifierInput()
	}
	return []identity.Node{identifier, form.Password("current-password"), form.Submit(identity.GroupPassword, "password", text.SignIn())}
}

// identifierInput is the login form's identifier field, as Kratos builds it
// from the identity schema: labelled with the title of the login identifier
// trait when exactly one such trait has a title (1070002), else "ID"
// (1070004). Its autocomplete is "email" when every identifier trait is an
// email address, and none otherwise: strictly typed SDKs accept only the
// few values Kratos itself uses ("username" is not one of them).
func (s loginFlow) identifierInput() identity.Node {
	n := form.Input(identity.GroupDefault, "identifier", "text", nil)
	n.Attributes.Required = true
	var titles []string
	emails, identifiers := 0, 0
	for _, f := range s.cfg.Schema.Fields() {
		if !f.Identifier {
			continue
		}
		identifiers++
		if f.Title != "" {
			titles = append(titles, f.Title)
		}
		if f.Format == "email" {
			emails++
		}
	}
	label := text.NodeLabelID()
	if len(titles) == 1 {
		label = text.NodeLabel(titles[0])
	}
	n.Meta.Label = &label
	if identifiers > 0 && emails == identifiers {
		n.Attributes.Autocomplete = "email"
	}
	return n
}

// afterURL is where a browser goes after a completed flow.
func (s *Service) afterURL(r *http.Request, returnTo string) string {
	if returnTo != "" {
		return returnTo
	}
	return s.site.DefaultReturn(r)
}

// failer picks how errors are answered before a flow exists: API callers
// always get JSON, browsers may be sent to the error UI.
func (s *Service) failer(typ string) func(error) error {
	if typ == identity.TypeAPI {
		return apierror.AsJSON
	}
	return func(err error) error { return err }
}

// getFlowHandler answers GET /self-service/{kind}/flows?id=. Browser login
// and registration flows are bound to the CSRF cookie that created them.
func (s *Service) getFlowHandler(w http.ResponseWriter, r *http.Request, kind string) error {
	f, err := s.loadFlow(r.Context(), r.URL.Query().Get("id"), kind)
	if err != nil {
		return apierror.AsJSON(err)
	}
	if f.Type == identity.TypeBrowser && !f.ByAdmin {
		real := s.cookies.csrfFromCookie(r)
		if real == nil || csrf.Hash(real) != f.CSRFTokenHash {
			reason := csrf.Mismatch
			if real == nil {
				reason = csrf.NoCookie
			}
			return apierror.AsJSON(csrf.Violation(reason))
		}
		form.SetCSRF(&f.UI, csrf.Mask(real))
	}
	if f.Expired(s.cfg.Now()) {
		return apierror.AsJSON(s.expiredFetch(r, f))
	}
	reply.JSON(w, http.StatusOK, s.flowJSON(r, f, nil))
	return nil
}

// replaceExpired answers a submit to an expired flow: a new flow of the same
// kind and type carrying the expiry message; 410 with use_flow_id for JSON
// callers, a redirect to the new flow for browsers.
func (s *Service) replaceExpired(w http.ResponseWriter, r *http.Request, old *identity.Flow, build func(*identity.Flow), ui string) error {
	f := s.newFlow(r, old.Kind, old.Type, old.ReturnTo)
	f.RequestURL, f.IdentityID, f.Refresh = old.RequestURL, old.IdentityID, old.Refresh
	if old.IdentityID != "" {
		f.ID = identity.NewIDFor(old.IdentityID)
	}
	f.UI.Action = s.flowAction(r, old.Kind, f.ID)
	build(f)
	f.UI.Messages = []text.Message{expiredMessage(old.Kind, old, s)}
	s.renewCSRF(w, r, f)
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		return apierror.AsJSON(err)
	}
	if old.Type == identity.TypeAPI || negotiate.WantsJSON(r) {
		return apierror.AsJSON(apierror.FlowExpired(old, s.cfg.Now(), f.ID))
	}
	reply.Redirect(w, siteurl.WithQuery(ui, "flow", f.ID), http.StatusSeeOther)
	return nil
}

// firstOr is the first of keys, or def when there is none.
func firstOr(keys []string, def string) string {
	if len(keys) == 0 {
		return def
	}
	return keys[0]
}

// loginThrottled answers a login whose identifier failed too often: 429
// with Retry-After, in the envelope for JSON callers and API flows, and the
// flow with a message for browsers.
func (s loginFlow) loginThrottled(w http.ResponseWriter, r *http.Request, f *identity.Flow, identifier string, wait time.Duration) error {
	s.cfg.Metrics.Login("throttled")
	s.Emit(r.Context(), events.Event{Name: events.LoginFailed, Flow: identity.KindLogin, Method: "password", Reason: "throttled"})
	w.Header().Set("Retry-After", retryAfter(wait))
	if f.Type == identity.TypeAPI || negotiate.WantsJSON(r) {
		return apierror.AsJSON(apierror.TooManyRequests(wait))
	}
	form.ClearMessages(&f.UI)
	s.renewCSRF(w, r, f)
	if i := form.Index(f.UI.Nodes, "identifier"); i >= 0 && !f.Refresh {
		f.UI.Nodes[i].Attributes.Value = identifier
	}
	f.UI.Messages = []text.Message{text.TooManyAttempts(wait)}
	f.UpdatedAt = s.cfg.Now()
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		return err
	}
	s.sendFormResult(w, r, f, nil, http.StatusTooManyRequests, s.site.LoginUI(r))
	return nil
}

// loginSubmit answers POST /self-service/login?flow=.
func (s loginFlow) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, b, err := s.openSubmit(w, r, identity.KindLogin, "method", "identifier", "password_identifier", "password", "csrf_token", "flow", "transient_payload")
	if err != nil {
		return err
	}
	fail := s.failer(f.Type)
	current, currentID, err := s.Current(r)
	if err != nil {
		return fail(err)
	}
	if f.Expired(s.cfg.Now()) {
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, expired.result())
		return s.replaceExpired(w, r, f, func(nf *identity.Flow) {
			nf.UI.Nodes = append([]identity.Node{form.CSRF("")}, s.loginNodes(currentID, nf.Refresh && current != nil)...)
		}, s.site.LoginUI(r))
	}
	method, err := b.Str("method")
	if err != nil {
		return fail(err)
	}
	identifier, err := b.Str("identifier")
	if err != nil {
		return fail(err)
	}
	if identifier == "" {
		if identifier, err = b.Str("password_identifier"); err != nil {
			return fail(err)
		}
	}
	password, err := b.Str("password")
	if err != nil {
		return fail(err)
	}
	if method != "password" {
		return fail(apierror.BadRequest("Could not find a strategy to log you in with. Did you fill out the form correctly?"))
	}
	if current != nil && !f.Refresh {
		return apierror.AsJSON(apierror.SessionAlreadyAvailable())
	}

	// One count per account, whatever the spelling: the identifier's first
	// lookup key (its normal form).
	throttle := s.throttle.loginKey(firstOr(s.cfg.Schema.LookupKeys(identifier), ""))
	if wait, err := s.throttle.peek(ctx, throttle, s.cfg.LoginFailures); err != nil {
		return fail(err)
	} else if wait > 0 {
		// The same answer whether or not the account exists.
		return s.loginThrottled(w, r, f, identifier, wait)
	}
	id, err := s.LookupIdentity(ctx, strings.TrimSpace(identifier))
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return fail(err)
	}
	hash := passwords.Dummy(s.cfg.PasswordCost)
	if id != nil && id.Password != nil {
		hash = id.Password.HashedPassword
	}
	valid := passwords.Check(hash, password) && id != nil && id.State == identity.IdentityActive
	if !valid && !passwords.UpToDate(hash, s.cfg.PasswordCost) {
		// An imported hash cheaper than ours fails faster than an unknown
		// identifier does: spend the configured cost too, so the time of a
		// failed login does not tell whether the account exists.
		passwords.Check(passwords.Dummy(s.cfg.PasswordCost), password)
	}
	form.ClearMessages(&f.UI)
	s.renewCSRF(w, r, f)
	if !valid || identifier == "" || password == "" {
		if i := form.Index(f.UI.Nodes, "identifier"); i >= 0 && !f.Refresh {
			f.UI.Nodes[i].Attributes.Value = identifier
		}
		f.UI.Messages = []text.Message{msgInvalidCredentials}
		f.UpdatedAt = s.cfg.Now()
		if _, err := s.throttle.take(ctx, throttle, s.cfg.LoginFailures); err != nil {
			return fail(err)
		}
		s.cfg.Metrics.Login("invalid_credentials")
		failed := events.Event{Name: events.LoginFailed, Flow: identity.KindLogin, Method: "password", Reason: "invalid_credentials"}
		if id != nil {
			failed.IdentityID = id.ID
		}
		s.Emit(ctx, failed)
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		if err := s.cfg.Store.SaveFlow(ctx, f); err != nil {
			return fail(err)
		}
		s.sendFormResult(w, r, f, nil, http.StatusBadRequest, s.site.LoginUI(r))
		return nil
	}

	if refused := s.gate(ctx, events.Event{Name: events.LoginSucceeded, IdentityID: id.ID, Flow: identity.KindLogin, Method: "password"}); refused != nil {
		f.UI.Messages = []text.Message{*refused}
		f.UpdatedAt = s.cfg.Now()
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, invalid.result())
		if err := s.cfg.Store.SaveFlow(ctx, f); err != nil {
			return fail(err)
		}
		s.sendFormResult(w, r, f, nil, http.StatusBadRequest, s.site.LoginUI(r))
		return nil
	}
	sess, token, err := s.completeLogin(w, r, f, current, currentID, id)
	if err != nil {
		return fail(err)
	}
	refreshed := current != nil && currentID.ID == id.ID
	if refreshed {
		s.cfg.Metrics.Login("refresh")
	} else {
		s.cfg.Metrics.Login("success")
	}
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, saved.result())
	s.Emit(ctx, events.Event{Name: events.LoginSucceeded, IdentityID: id.ID, SessionID: sess.ID, Flow: identity.KindLogin, Method: "password"})
	f.Active, f.UpdatedAt = "password", s.cfg.Now()
	if err := s.cfg.Store.SaveFlow(ctx, f); err != nil {
		return fail(err)
	}
	if !refreshed && !pausedChangeWaiting(r) {
		id = s.upgradeHash(r.Context(), id, hash, password)
	}
	s.sendSession(w, r, f, sess, id, token)
	return nil
}

// pausedChangeWaiting reports whether the browser holds a paused settings
// change (a continuity cookie), which its refresh login's return_to applies
// next. That change was made against the identity's version before this
// login, so the login leaves the hash upgrade to a later login rather than
// turn the change into a version conflict. So does a refresh login of the
// signed-in identity: an app or SPA submits its change again after it.
func pausedChangeWaiting(r *http.Request) bool {
	c, err := r.Cookie(ContinuityCookie)
	return err == nil && c.Value != ""
}

// upgradeHash rehashes the password of a successful login (not a refresh
// of the signed-in identity) with bcrypt at the configured cost when the
// stored hash, the one the password was just checked against, is anything
// else: an imported
// argon2id hash, or bcrypt at another cost. Unknown identifiers are
// checked against a dummy bcrypt hash at the configured cost, so a failed
// login on an imported account would otherwise take a measurably different
// time and reveal that the account exists. Accounts that never log in keep
// their imported hash (and that difference) until they do.
//
// The write is checked against the identity's version; when the identity
// changed meanwhile, or anything fails, the hash stays as it is and the
// login succeeds all the same. It returns the identity as now stored.
func (s loginFlow) upgradeHash(ctx context.Context, id *identity.Identity, checked, password string) *identity.Identity {
	if id == nil || id.Password == nil || id.Password.HashedPassword != checked ||
		passwords.UpToDate(checked, s.cfg.PasswordCost) {
		return id
	}
	updated := cloneIdentity(id)
	if err := s.SetPassword(updated, password); err != nil {
		s.cfg.Logger.Info("password hash not upgraded", zap.String("identity_id", id.ID), zap.Error(err))
		return id
	}
	if err := s.cfg.Store.UpdateIdentity(ctx, updated); err != nil {
		s.cfg.Logger.Info("password hash not upgraded", zap.String("identity_id", id.ID), zap.Error(err))
		return id
	}
	return updated
}

// completeLogin makes the session of a successful login: a refresh login of
// the signed-in identity renews the same session; otherwise a new one.
func (s loginFlow) completeLogin(w http.ResponseWriter, r *http.Request, f *identity.Flow, current *identity.Session, currentID, id *identity.Identity) (*identity.Session, string, error) {
	now := s.cfg.Now()
	if current != nil && currentID.ID == id.ID {
		current.AuthenticatedAt, current.IssuedAt = now, now
		current.ExpiresAt = now.Add(s.cfg.SessionLifespan)
		current.AuthenticationMethods = append(current.AuthenticationMethods, identity.AuthenticationMethod{Method: "password", AAL: identity.AAL1, CompletedAt: now})
		s.addDevice(r, current)
		if err := s.cfg.Store.UpdateSession(r.Context(), current); err != nil {
			return nil, "", err
		}
		token := sessionToken(r)
		if f.Type == identity.TypeBrowser {
			s.cookies.setSessionCookie(w, r, token, current.ExpiresAt)
		}
		return current, token, nil
	}
	sess, token, err := s.IssueSession(r, id)
	if err != nil {
		return nil, "", err
	}
	if f.Type == identity.TypeBrowser {
		s.cookies.setSessionCookie(w, r, token, sess.ExpiresAt)
		if current == nil || currentID.ID != id.ID {
			s.cookies.rotateCSRF(w, r)
		}
	}
	return sess, token, nil
}

// loginResult is the JSON answer of a successful login or registration.
type loginResult struct {
	SessionToken string              `json:"session_token,omitempty"`
	Session      *wire.Session       `json:"session,omitempty"`
	Identity     *wire.Identity      `json:"identity,omitempty"`
	ContinueWith []wire.ContinueWith `json:"continue_with,omitempty"`
}

// sendSession answers a completed login or registration: API flows get the
// token, SPAs the session and where to go, browsers a redirect. next are
// continue_with items of the flow (a registration's show_verification_ui).
func (s *Service) sendSession(w http.ResponseWriter, r *http.Request, f *identity.Flow, sess *identity.Session, id *identity.Identity, token string, next ...wire.ContinueWith) {
	after := s.afterURL(r, f.ReturnTo)
	res := loginResult{Session: s.SessionJSON(r, sess, id, false)}
	if f.Kind == identity.KindRegistration {
		res.Identity = s.IdentityJSON(r, id, false)
	}
	switch {
	case f.Type == identity.TypeAPI:
		res.SessionToken = token
		res.ContinueWith = next
		reply.JSON(w, http.StatusOK, res)
	case negotiate.WantsJSON(r):
		res.ContinueWith = append([]wire.ContinueWith{{Action: "redirect_browser_to", RedirectBrowserTo: after}}, next...)
		reply.JSON(w, http.StatusOK, res)
	default:
		reply.Redirect(w, after, http.StatusSeeOther)
	}
}
