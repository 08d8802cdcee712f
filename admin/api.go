// Package admin is the Kratos admin API: identities (with JSON Patch and
// password import), sessions, the identity schema and the legacy admin
// profile fetch. It is served only by a handler configured with `admin`,
// on a listener of its own, never under the public prefix.
package admin

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/courier"
	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/storelog"
)

// API answers the admin API over the records of one flows.Service.
type API struct {
	svc      *flows.Service
	cfg      flows.Config
	storeLog *zap.Logger
	mux      *http.ServeMux          // routes
	mailbox  func() *courier.Mailbox // the development mailbox, if any (courier.go)
}

// New returns the admin API of svc.
func New(svc *flows.Service, opts ...Option) *API {
	cfg := svc.Config()
	s := &API{svc: svc, cfg: cfg, storeLog: storelog.Sampled(cfg.Logger)}
	for _, o := range opts {
		o(s)
	}
	s.mux = s.routes()
	return s
}

// writeError answers with the error envelope; a store failure is logged
// (once per interval) and answered with 503.
func (s *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	apierror.Write(w, r, apierror.From(err, s.storeLog))
}
