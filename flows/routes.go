package flows

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// ServePublic answers a request for the public API; rel is the request path
// with the public prefix removed ("/sessions/whoami"). Paths of the admin API
// are unknown here, whatever their form, and answer 404.
func (s *Service) ServePublic(w http.ResponseWriter, r *http.Request, rel string) {
	get, post := r.Method == http.MethodGet || r.Method == http.MethodHead, r.Method == http.MethodPost
	switch {
	case rel == "/sessions/whoami":
		s.whoami(w, r)

	case rel == "/self-service/login/browser" && get:
		loginFlow{s}.loginInit(w, r, identity.TypeBrowser)
	case rel == "/self-service/login/api" && get:
		loginFlow{s}.loginInit(w, r, identity.TypeAPI)
	case rel == "/self-service/login/flows" && get:
		s.getFlowHandler(w, r, identity.KindLogin)
	case rel == "/self-service/login" && post:
		loginFlow{s}.loginSubmit(w, r)

	case rel == "/self-service/registration/browser" && get:
		registrationFlow{s}.registrationInit(w, r, identity.TypeBrowser)
	case rel == "/self-service/registration/api" && get:
		registrationFlow{s}.registrationInit(w, r, identity.TypeAPI)
	case rel == "/self-service/registration/flows" && get:
		s.getFlowHandler(w, r, identity.KindRegistration)
	case rel == "/self-service/registration" && post:
		registrationFlow{s}.registrationSubmit(w, r)

	case rel == "/self-service/logout/browser" && get:
		logoutFlow{s}.logoutInit(w, r)
	case rel == "/self-service/logout" && get:
		logoutFlow{s}.logout(w, r)
	case rel == "/self-service/logout/api" && r.Method == http.MethodDelete:
		logoutFlow{s}.logoutAPI(w, r)

	case rel == "/self-service/settings/browser" && get:
		settingsFlow{s}.settingsInit(w, r, identity.TypeBrowser)
	case rel == "/self-service/settings/api" && get:
		settingsFlow{s}.settingsInit(w, r, identity.TypeAPI)
	case rel == "/self-service/settings/flows" && get:
		settingsFlow{s}.settingsFetch(w, r)
	case rel == "/self-service/settings" && (post || get):
		settingsFlow{s}.settingsSubmit(w, r)

	case rel == "/self-service/browser/flows/profile" && get:
		profileFlow{s}.profileInit(w, r)
	case rel == "/self-service/browser/flows/requests/profile" && get:
		profileFlow{s}.profileFetch(w, r, false)
	case rel == "/self-service/browser/flows/profile/update" && post:
		profileFlow{s}.profileUpdate(w, r)

	case rel == "/self-service/errors" && get:
		s.errorFetch(w, r)
	case (rel == "/schemas" || strings.HasPrefix(rel, "/schemas/")) && get:
		s.ServeSchemas(w, r, rel)

	case strings.HasPrefix(rel, "/ui/") && get:
		builtinPages{s}.serveUI(w, r, rel)

	default:
		s.writeError(w, r, apierror.NotFound("The requested resource could not be found"))
	}
}

// schemas answers GET /schemas and /schemas/{id} (the id plain or base64url).
func (s *Service) ServeSchemas(w http.ResponseWriter, r *http.Request, rel string) {
	sch := s.cfg.Schema
	if rel == "/schemas" {
		reply.JSON(w, http.StatusOK, []map[string]any{{"id": sch.ID(), "schema": json.RawMessage(sch.Raw())}})
		return
	}
	id := strings.TrimPrefix(rel, "/schemas/")
	if dec, err := base64.RawURLEncoding.DecodeString(id); err == nil && string(dec) == sch.ID() {
		id = sch.ID()
	}
	if id != sch.ID() {
		s.writeError(w, r, apierror.NotFound("The requested schema could not be found."))
		return
	}
	reply.NoCache(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(sch.Raw())
}

// errorFetch answers GET /self-service/errors?id= for the error UI.
func (s *Service) errorFetch(w http.ResponseWriter, r *http.Request) {
	f, err := s.loadFlow(r.Context(), r.URL.Query().Get("id"), identity.KindError)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply.JSON(w, http.StatusOK, map[string]any{
		"id": f.ID, "error": json.RawMessage(f.Error), "created_at": f.IssuedAt, "updated_at": f.UpdatedAt,
	})
}
