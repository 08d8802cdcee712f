package flows

import (
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// logoutFlow answers the browser and API logouts.
type logoutFlow struct{ *Service }

// logoutInit answers GET /self-service/logout/browser: a logout URL that
// ends the caller's session.
func (s logoutFlow) logoutInit(w http.ResponseWriter, r *http.Request) error {
	sess, _, err := s.Current(r)
	if err != nil {
		return err
	}
	if sess == nil {
		return apierror.SessionInactive()
	}
	returnTo, err := s.site.CheckReturnTo(r, r.URL.Query().Get("return_to"))
	if err != nil {
		return err
	}
	logoutURL, token := s.logoutURL(r, returnTo)
	reply.JSON(w, http.StatusOK, map[string]string{"logout_url": logoutURL, "logout_token": token})
	return nil
}

// logoutURL returns the URL that ends the caller's session, and its logout
// token (LogoutToken).
func (s *Service) logoutURL(r *http.Request, returnTo string) (string, string) {
	token := identity.LogoutToken(sessionToken(r))
	q := url.Values{"token": {token}}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	return s.site.PublicURL(r, "/self-service/logout", q), token
}

// logout answers GET /self-service/logout?token=: it revokes the session,
// clears the cookie and rotates the CSRF token.
func (s logoutFlow) logout(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if token == "" {
		return apierror.BadRequest("Please include a token in the URL query.")
	}
	returnTo, err := s.site.CheckReturnTo(r, r.URL.Query().Get("return_to"))
	if err != nil {
		return err
	}
	sess, _, err := s.Current(r)
	if err != nil {
		return err
	}
	if sess == nil || subtle.ConstantTimeCompare([]byte(token), []byte(identity.LogoutToken(sessionToken(r)))) != 1 {
		return apierror.Forbidden("Unable to log out because the logout token in the URL query does not match the session cookie.")
	}
	if err := s.cfg.Store.DeleteSession(r.Context(), sess.ID); err != nil {
		return err
	}
	s.cfg.Metrics.SessionRevoked()
	s.Emit(r.Context(), events.Event{Name: events.SessionRevoked, IdentityID: sess.IdentityID, SessionID: sess.ID, Flow: "logout", Reason: "logout"})
	s.cookies.clearSessionCookie(w, r)
	s.cookies.rotateCSRF(w, r)
	if negotiate.WantsJSON(r) {
		reply.NoCache(w)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	reply.Redirect(w, s.afterURL(r, returnTo), http.StatusSeeOther)
	return nil
}

// logoutAPI answers DELETE /self-service/logout/api with {session_token}.
func (s logoutFlow) logoutAPI(w http.ResponseWriter, r *http.Request) error {
	b, err := body.Read(w, r)
	if err != nil {
		return apierror.AsJSON(err)
	}
	if err := b.CheckFields("session_token"); err != nil {
		return apierror.AsJSON(err)
	}
	token, err := b.Str("session_token")
	if err != nil {
		return apierror.AsJSON(err)
	}
	notFound := apierror.Forbidden("The provided Ory Session Token could not be found, is invalid, or otherwise malformed.")
	if !identity.WellFormedSessionToken(token) {
		return apierror.AsJSON(notFound)
	}
	sess, _, err := s.cfg.Store.GetSession(r.Context(), token)
	if err != nil {
		if identity.IsNotFound(err) {
			err = notFound
		}
		return apierror.AsJSON(err)
	}
	if err := s.cfg.Store.DeleteSession(r.Context(), sess.ID); err != nil {
		return apierror.AsJSON(err)
	}
	s.cfg.Metrics.SessionRevoked()
	s.Emit(r.Context(), events.Event{Name: events.SessionRevoked, IdentityID: sess.IdentityID, SessionID: sess.ID, Flow: "logout", Reason: "logout"})
	reply.NoCache(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
