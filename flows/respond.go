package flows

import (
	"encoding/json"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/text"
)

// writeError answers a JSON caller with the error envelope; a store
// failure is logged (once per interval) and answered with 503.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	apierror.Write(w, r, apierror.From(err, s.storeLog))
}

// browserError answers a caller with an error: JSON callers get the
// envelope; browsers are sent to the error UI with the error stored for it.
func (s *Service) browserError(w http.ResponseWriter, r *http.Request, err error) {
	if negotiate.WantsJSON(r) {
		s.writeError(w, r, err)
		return
	}
	e := apierror.From(err, s.storeLog)
	raw, _ := json.Marshal(e.Envelope(r.Header.Get("X-Request-ID")).Error)
	now := s.cfg.Now()
	f := &identity.Flow{ID: identity.NewID(), Kind: identity.KindError, IssuedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.FlowLifespan), Error: raw}
	if err := s.cfg.Store.SaveFlow(r.Context(), f); err != nil {
		// The store is down, so the error UI could not read the error
		// either: the built-in error page shows it here.
		s.cfg.Logger.Debug("error not stored for the error UI", zap.Error(err))
		s.ui.RenderError(w, r, e)
		return
	}
	reply.Redirect(w, siteurl.WithQuery(s.site.ErrorUI(r), "id", f.ID), http.StatusSeeOther)
}

// answerError answers with a handler's error: the JSON envelope for JSON
// callers and errors marked apierror.AsJSON, else the error UI (browserError).
func (s *Service) answerError(w http.ResponseWriter, r *http.Request, err error) {
	var refused *refusedWithFlow
	if errors.As(unwrapJSON(err), &refused) {
		f := refused.f
		form.ClearMessages(&f.UI)
		f.UI.Messages = []text.Message{text.Generic(refused.err.Reason)}
		reply.JSON(w, refused.err.Code, s.flowJSON(r, f, refused.id))
		return
	}
	if err, ok := apierror.IsJSON(err); ok {
		s.writeError(w, r, err)
		return
	}
	s.browserError(w, r, err)
}

// unwrapJSON is err without its apierror.AsJSON mark.
func unwrapJSON(err error) error {
	inner, _ := apierror.IsJSON(err)
	return inner
}
