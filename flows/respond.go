package flows

import (
	"encoding/json"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// noCache marks a self-service response as not cacheable, and as depending
// on the cookies (session and CSRF) the request carried.
func noCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	w.Header().Add("Vary", "Cookie")
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	noCache(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// redirect answers with a redirect (303 unless code says otherwise).
func redirect(w http.ResponseWriter, to string, code int) {
	noCache(w)
	w.Header().Set("Location", to)
	w.WriteHeader(code)
}

// asError turns any error into a protocol error: store failures become 503
// (and are logged), protocol errors pass through.
func (s *Service) asError(err error) *apierror.Error {
	var e *apierror.Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, identity.ErrNotFound) {
		return errAdminNotFound()
	}
	s.storeLog.Error("identity store failed; answering 503", zap.Error(err))
	return apierror.Unavailable()
}

// writeError answers a JSON caller with the error envelope.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.asError(err)
	noCache(w)
	if e.ID != "" {
		w.Header().Set("Ory-Error-Id", e.ID)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e.Envelope(r.Header.Get("X-Request-ID")))
}

// browserError answers a caller with an error: JSON callers get the
// envelope; browsers are sent to the error UI with the error stored for it.
func (s *Service) browserError(w http.ResponseWriter, r *http.Request, err error) {
	if negotiate.WantsJSON(r) {
		s.writeError(w, r, err)
		return
	}
	e := s.asError(err)
	raw, _ := json.Marshal(e.Envelope(r.Header.Get("X-Request-ID")).Error)
	now := s.cfg.Now()
	f := &identity.Flow{ID: identity.NewID(), Kind: identity.KindError, IssuedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.FlowLifespan), Error: raw}
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		// The store is down, so the error UI could not read the error
		// either: the built-in error page shows it here.
		s.cfg.Logger.Debug("error not stored for the error UI", zap.Error(err))
		s.renderError(w, r, e)
		return
	}
	redirect(w, siteurl.WithQuery(s.site.ErrorUI(r), "id", f.ID), http.StatusSeeOther)
}
