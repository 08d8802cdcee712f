package admin

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/events"
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
	s.svc.Emit(r.Context(), events.Event{Name: events.SessionRevoked, IdentityID: sess.IdentityID, SessionID: sess.ID, Flow: "admin", Reason: "revoked_by_admin"})
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
	if n > 0 {
		s.svc.Emit(r.Context(), events.Event{Name: events.SessionRevoked, IdentityID: id.ID, Flow: "admin", Reason: "revoked_by_admin"})
	}
	reply.NoCache(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminSessionsScanBatches bounds the store reads of one list page when the
// active filter leaves sessions out: the page may come back short, with a
// next link.
const adminSessionsScanBatches = 4

// adminListSessions answers GET /admin/sessions: every session, newest
// issued first, in pages (page_size, page_token) with a Link header of
// rel="first" and, unless this is the last page, rel="next", as Kratos'
// keyset pagination. ?active=true keeps active unexpired sessions,
// active=false the others; ?expand=identity and ?expand=devices (either
// case, repeatable) fill in what is otherwise null. There is no
// X-Total-Count: counting would read every session.
func (s *API) adminListSessions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var active *bool
	if v := q.Get("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return adminMessage(http.StatusBadRequest, "could not parse parameter active")
		}
		active = &b
	}
	size := adminDefaultPageSize
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return adminMessage(http.StatusBadRequest, "could not parse parameter page_size")
		}
		size = min(n, adminMaxPageSize)
	}
	var withIdentity, withDevices bool
	for _, e := range q["expand"] {
		switch strings.ToLower(e) {
		case "identity":
			withIdentity = true
		case "devices":
			withDevices = true
		default:
			return apierror.BadRequest("Could not parse expand option: %s", e)
		}
	}
	after := ""
	if t := q.Get("page_token"); t != "" {
		dec, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !identity.WellFormedID(identity.SessionCursorID(string(dec))) {
			return apierror.BadRequest("The page token is invalid, do not craft your own page tokens")
		}
		after = string(dec)
	}

	now := s.cfg.Now()
	out := make([]*wire.Session, 0, min(size, 16))
	cursor, next := after, ""
	for range adminSessionsScanBatches {
		list, n, err := s.cfg.Store.ListAllSessions(r.Context(), cursor, size-len(out))
		if err != nil {
			return err
		}
		for _, l := range list {
			if active != nil && l.Session.IsActive(now) != *active {
				continue
			}
			j := s.svc.SessionJSON(r, l.Session, l.Identity, true)
			if !withIdentity {
				j.Identity = nil
			}
			if !withDevices {
				j.Devices = nil
			}
			out = append(out, j)
		}
		cursor, next = n, n
		if n == "" || len(out) == size {
			break
		}
	}
	link := adminPageLink(r, size, "", "first")
	if next != "" {
		link += "," + adminPageLink(r, size, base64.RawURLEncoding.EncodeToString([]byte(next)), "next")
	}
	w.Header().Set("Link", link)
	reply.JSON(w, http.StatusOK, out)
	return nil
}

// adminMessage is an error whose text is the envelope's message, with no
// reason, as Kratos' herodot WithError writes it.
func adminMessage(code int, message string) *apierror.Error {
	e := apierror.New(code, "")
	e.Message = message
	return e
}
