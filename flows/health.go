package flows

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// Health answers GET /health/alive (the handler runs; the store is not
// asked) and GET /health/ready (the store answers), as Kratos'
// health endpoints: 200 {"status": "ok"}, or 503 with the error envelope.
// Public callers get the failure obfuscated, as Kratos does; the admin
// API (reveal) shows it.
func (s *Service) Health(w http.ResponseWriter, r *http.Request, ready, reveal bool) {
	if ready {
		if p, ok := s.cfg.Store.(identity.Pinger); ok {
			if err := p.Ping(r.Context()); err != nil {
				msg := "error may contain sensitive information and was obfuscated"
				if reveal {
					msg = err.Error()
				}
				s.storeLog.Error("health check: the store does not answer", zap.Error(err))
				reply.JSON(w, http.StatusServiceUnavailable, apierror.Envelope{Error: apierror.Body{
					Code: http.StatusInternalServerError, Status: http.StatusText(http.StatusInternalServerError), Message: msg,
				}})
				return
			}
		}
	}
	reply.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
