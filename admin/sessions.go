package admin

import (
	"errors"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
)

// adminLoadSession reads a session and its identity for an admin request; a
// malformed or unknown id, or a session whose identity is gone, is 404.
func (s *API) adminLoadSession(r *http.Request, idStr string) (*identity.Session, *identity.Identity, error) {
	if !identity.WellFormedID(idStr) {
		return nil, nil, apierror.ResourceNotFound()
	}
	sess, err := s.cfg.Store.GetSessionByID(r.Context(), idStr)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, apierror.ResourceNotFound()
	}
	if err != nil {
		return nil, nil, err
	}
	id, err := s.cfg.Store.GetIdentity(r.Context(), sess.IdentityID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, apierror.ResourceNotFound()
	}
	if err != nil {
		return nil, nil, err
	}
	return sess, id, nil
}

// adminGetSession answers GET /admin/sessions/{id}. The identity is always
// included, so ?expand=identity (or devices) is accepted and changes nothing.
func (s *API) adminGetSession(w http.ResponseWriter, r *http.Request, idStr string) error {
	sess, id, err := s.adminLoadSession(r, idStr)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, s.svc.SessionJSON(r, sess, id, true))
	return nil
}

// adminDeactivateSession answers DELETE /admin/sessions/{id}. As in Kratos
// the session is deactivated, not deleted: it can no longer be used and is
// listed with active false until it expires from the store.
func (s *API) adminDeactivateSession(w http.ResponseWriter, r *http.Request, idStr string) error {
	sess, _, err := s.adminLoadSession(r, idStr)
	if err != nil {
		return err
	}
	if sess.Active {
		sess.Active = false
		if err := s.cfg.Store.UpdateSession(r.Context(), sess); err != nil {
			if errors.Is(err, identity.ErrNotFound) {
				err = apierror.ResourceNotFound()
			}
			return err
		}
	}
	s.cfg.Logger.Info("admin: session revoked", zap.String("session_id", sess.ID))
	reply.NoCache(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminExtendSession answers PATCH /admin/sessions/{id}/extend: the session
// now expires a session lifespan from now. A session that is no longer
// active (revoked or expired) is not brought back: 404.
func (s *API) adminExtendSession(w http.ResponseWriter, r *http.Request, idStr string) error {
	sess, id, err := s.adminLoadSession(r, idStr)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if !sess.IsActive(now) {
		return apierror.NotFound("The session is no longer active and cannot be extended.")
	}
	sess.ExpiresAt = now.Add(s.cfg.SessionLifespan)
	if err := s.cfg.Store.UpdateSession(r.Context(), sess); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			err = apierror.ResourceNotFound()
		}
		return err
	}
	reply.JSON(w, http.StatusOK, s.svc.SessionJSON(r, sess, id, true))
	return nil
}

// adminListIdentitySessions answers GET /admin/identities/{id}/sessions,
// newest first; ?active=true|false keeps only sessions whose `active` is
// that value.
func (s *API) adminListIdentitySessions(w http.ResponseWriter, r *http.Request, idStr string) error {
	var filter *bool
	if v := r.URL.Query().Get("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return apierror.BadRequest("The active parameter %q must be true or false.", v)
		}
		filter = &b
	}
	id, err := s.adminLoadIdentity(r, idStr)
	if err != nil {
		return err
	}
	list, err := s.cfg.Store.ListSessions(r.Context(), id.ID)
	if err != nil {
		return err
	}
	out := make([]*wire.Session, 0, len(list))
	for _, sess := range list {
		j := s.svc.SessionJSON(r, sess, id, true)
		if filter != nil && j.Active != *filter {
			continue
		}
		out = append(out, j)
	}
	reply.JSON(w, http.StatusOK, out)
	return nil
}

// adminDeleteIdentitySessions answers DELETE /admin/identities/{id}/sessions:
// every session of the identity is removed.
func (s *API) adminDeleteIdentitySessions(w http.ResponseWriter, r *http.Request, idStr string) error {
	id, err := s.adminLoadIdentity(r, idStr)
	if err != nil {
		return err
	}
	n, err := s.cfg.Store.DeleteSessions(r.Context(), id.ID, "")
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("admin: identity sessions deleted", zap.String("identity_id", id.ID), zap.Int("count", n))
	reply.NoCache(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
