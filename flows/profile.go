package flows

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/csrf"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/schema"
	"github.com/seed06f30684/caddy-kratos/text"
)

// profileFlow answers the legacy profile-management API (Kratos v0.1).
type profileFlow struct{ *Service }

// The legacy profile-management API of Kratos v0.1 (Kratos v0.1), with the
// docs/differences.md changes. It runs on the same flow records and state machine
// as the settings flow; only the wire form and the rules for protected
// fields differ.

// legacyJSON is the seed's request shape of a profile flow.
func (s profileFlow) legacyJSON(r *http.Request, f *identity.Flow, id *identity.Identity) wire.LegacyRequest {
	var schemaURL string
	if id != nil {
		schemaURL = s.site.PublicURL(r, "/schemas/"+id.SchemaID, nil)
	}
	return wire.NewLegacyRequest(f, id, schemaURL)
}

// legacyFieldErrors are schema errors as node messages that also carry the
// seed's wording.
func legacyFieldErrors(errs []schema.FieldError) []schema.FieldError {
	out := make([]schema.FieldError, len(errs))
	for i, e := range errs {
		ctx := map[string]any{wire.LegacyTextKey: e.Legacy}
		for k, v := range e.Context {
			ctx[k] = v
		}
		e.Context = ctx
		out[i] = e
	}
	return out
}

// profileNodes is the legacy form: the CSRF field and the traits, protected
// ones disabled.
func (s profileFlow) profileNodes(traits map[string]any) []identity.Node {
	nodes := append([]identity.Node{form.CSRF("")}, form.Traits(s.cfg.Schema, identity.GroupProfile, traits)...)
	for _, f := range s.cfg.Schema.Fields() {
		if i := form.Index(nodes, f.Name); i >= 0 && locked(f, true) {
			nodes[i].Attributes.Disabled = true
		}
	}
	return nodes
}

// profileInit answers GET /self-service/browser/flows/profile.
func (s profileFlow) profileInit(w http.ResponseWriter, r *http.Request) error {
	sess, id, err := s.Current(r)
	if err != nil {
		return err
	}
	if sess == nil {
		reply.Redirect(w, s.site.LoginUI(r), http.StatusFound)
		return nil
	}
	f := s.newFlow(r, identity.KindProfile, identity.TypeBrowser, "")
	f.ID = identity.NewIDFor(id.ID)
	f.IdentityID, f.IdentityVersion = id.ID, id.Version
	f.UI.Action = s.site.PublicURL(r, "/self-service/browser/flows/profile/update", url.Values{"request": {f.ID}})
	f.UI.Nodes = s.profileNodes(id.Traits)
	s.renewCSRF(w, r, f)
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		return err
	}
	reply.Redirect(w, siteurl.WithQuery(s.site.ProfileUI(r), "request", f.ID), http.StatusFound)
	return nil
}

// profileFetch answers GET .../flows/requests/profile?request=. The admin
// fetch needs nothing and says 404 for an unknown id; the public fetch needs
// the session and CSRF cookies of the request's owner and answers every
// failure with 403, so ids cannot be probed.
func (s profileFlow) profileFetch(w http.ResponseWriter, r *http.Request, admin bool) error {
	reqID := r.URL.Query().Get("request")
	if admin {
		f, err := s.loadFlow(r.Context(), reqID, identity.KindProfile)
		if err != nil {
			return apierror.AsJSON(err)
		}
		id, err := s.cfg.Store.GetIdentity(r.Context(), f.IdentityID)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return apierror.AsJSON(err)
		}
		reply.JSON(w, http.StatusOK, s.legacyJSON(r, f, id))
		return nil
	}
	real := s.cookies.csrfFromCookie(r)
	if real == nil || !identity.WellFormedID(reqID) {
		return apierror.AsJSON(apierror.ProfileAccess)
	}
	sess, id, f, err := s.legacySessionAndRequest(r, reqID)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return apierror.AsJSON(err)
	}
	if err != nil || f == nil || f.Kind != identity.KindProfile || !s.usable(sess, id) || f.IdentityID != id.ID {
		return apierror.AsJSON(apierror.ProfileAccess)
	}
	form.SetCSRF(&f.UI, csrf.Mask(real))
	reply.JSON(w, http.StatusOK, s.legacyJSON(r, f, id))
	return nil
}

// profileUpdate answers POST .../flows/profile/update?request=.
func (s profileFlow) profileUpdate(w http.ResponseWriter, r *http.Request) error {
	b, err := body.Read(w, r)
	if err != nil {
		return err
	}
	token, err := b.Str("csrf_token")
	if err != nil {
		return err
	}
	// The legacy API answers its refusals with 403 itself, browsers too
	// (decisions.md): there is no error UI in the seed's design.
	if err := s.cookies.checkCSRF(r, token); err != nil {
		return apierror.AsJSON(err)
	}
	reqID := r.URL.Query().Get("request")
	if reqID == "" {
		return apierror.BadRequest("The request query parameter is missing.")
	}
	if !identity.WellFormedID(reqID) {
		return apierror.NotFound("The profile request could not be found. Please restart the flow.")
	}
	sess, id, f, err := s.legacySessionAndRequest(r, reqID)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return err
	}
	if err != nil || !s.usable(sess, id) {
		if negotiate.WantsJSON(r) {
			return apierror.AsJSON(apierror.SessionInactive())
		}
		reply.Redirect(w, s.site.LoginUI(r), http.StatusFound)
		return nil
	}
	if f == nil || f.Kind != identity.KindProfile {
		return apierror.NotFound("The profile request could not be found. Please restart the flow.")
	}
	if f.IdentityID != id.ID {
		return apierror.AsJSON(apierror.IdentityMismatch())
	}
	if err := b.CheckFields("csrf_token", "traits", "traits."); err != nil {
		return err
	}
	traits, err := b.Traits(s.cfg.Schema)
	if err != nil {
		return err
	}

	s.renewCSRF(w, r, f)
	o, updated, err := stateMachine(s).submit(r.Context(), f, sess, id, change{method: "profile", traits: traits, legacy: true})
	if err != nil {
		return err
	}
	switch o {
	case saved:
		s.sendProfile(w, r, f, updated, http.StatusOK)
	case invalid, refreshRequired:
		s.sendProfile(w, r, f, id, http.StatusBadRequest)
	case conflict:
		s.sendProfile(w, r, f, id, http.StatusConflict)
	case expired:
		// Nothing is saved; the request keeps its values and says why.
		now := s.cfg.Now()
		form.ClearMessages(&f.UI)
		f.State, f.UpdatedAt = identity.StateShowForm, now
		f.UI.Messages = []text.Message{text.ProfileRequestExpired(f.ExpiresAt, now)}
		if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
			return err
		}
		s.sendProfile(w, r, f, id, http.StatusGone)
	}
	return nil
}

// sendProfile answers with a stored request: JSON callers get the request
// itself, browsers go back to the profile UI.
func (s profileFlow) sendProfile(w http.ResponseWriter, r *http.Request, f *identity.Flow, id *identity.Identity, code int) {
	if negotiate.WantsJSON(r) {
		reply.JSON(w, code, s.legacyJSON(r, f, id))
		return
	}
	reply.Redirect(w, siteurl.WithQuery(s.site.ProfileUI(r), "request", f.ID), http.StatusFound)
}

// legacySessionAndRequest reads the caller's session and a request in one
// round trip; without a well-formed session token it is ErrNotFound at no
// cost.
func (s profileFlow) legacySessionAndRequest(r *http.Request, reqID string) (*identity.Session, *identity.Identity, *identity.Flow, error) {
	token := sessionToken(r)
	if !identity.WellFormedSessionToken(token) {
		return nil, nil, nil, identity.ErrNotFound
	}
	return s.cfg.Store.GetSessionAndFlow(r.Context(), token, reqID)
}

// ServeLegacyAdminProfile answers the legacy admin fetch of a profile
// request (GET /self-service/browser/flows/requests/profile?request=),
// which needs no session.
func (s *Service) ServeLegacyAdminProfile(w http.ResponseWriter, r *http.Request) error {
	return profileFlow{s}.profileFetch(w, r, true)
}
