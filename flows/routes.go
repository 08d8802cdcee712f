package flows

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/route"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/pages"
)

// ServePublic answers a request for the public API; rel is the request path
// with the public prefix removed ("/sessions/whoami"). Paths of the admin
// API are unknown here, whatever their form, and answer 404; a known path
// asked with another method answers 405 with Allow.
//
// The handlers see the request with its path relative to the prefix, as
// http.StripPrefix would pass it; requestURL puts the prefix back.
func (s *Service) ServePublic(w http.ResponseWriter, r *http.Request, rel string) {
	if path.Clean(rel) != rel {
		// ServeMux would redirect to the cleaned path; nothing of ours lives
		// at an unclean one.
		s.writeError(w, r, notFound())
		return
	}
	if len(r.URL.RawQuery) > maxQueryBytes {
		// It would be kept in the flow's request_url and return_to.
		s.writeError(w, r, apierror.BadRequest("The query string is longer than %d bytes.", maxQueryBytes))
		return
	}
	if s.limitRequests(w, r, rel) {
		return
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path, r2.URL.RawPath = rel, ""
	s.mux.ServeHTTP(w, r2)
}

// maxQueryBytes bounds a request's query string: flows keep it (request_url,
// return_to), so an unbounded one would let anonymous requests fill the
// store.
const maxQueryBytes = 2048

func notFound() *apierror.Error {
	return apierror.NotFound("The requested resource could not be found")
}

// publicRoutes is the route table of the public API. Each handler answers,
// or returns the error that answerError turns into the answer. A GET route
// answers HEAD too.
func (s *Service) publicRoutes() *http.ServeMux {
	rt := route.New("", s.answerError)
	login, registration, settings := loginFlow{s}, registrationFlow{s}, settingsFlow{s}
	profile, logout, ui := profileFlow{s}, logoutFlow{s}, s.ui

	// Any method, as Kratos: proxies ask it with the method of the request
	// they check.
	rt.Any("/sessions/whoami", s.whoami)
	mine := mySessions{s}
	rt.Handle("/sessions", map[string]route.HandlerFunc{http.MethodGet: mine.list, http.MethodDelete: mine.revokeAll})
	// Any method, answering 405 itself: a pattern for DELETE alone would
	// conflict with the any-method /sessions/whoami.
	rt.Any("/sessions/{id}", mine.revokeOne)

	rt.Get("/self-service/login/browser", func(w http.ResponseWriter, r *http.Request) error {
		return login.loginInit(w, r, identity.TypeBrowser)
	})
	rt.Get("/self-service/login/api", func(w http.ResponseWriter, r *http.Request) error {
		return login.loginInit(w, r, identity.TypeAPI)
	})
	rt.Get("/self-service/login/flows", func(w http.ResponseWriter, r *http.Request) error {
		return s.getFlowHandler(w, r, identity.KindLogin)
	})
	rt.Post("/self-service/login", login.loginSubmit)

	rt.Get("/self-service/registration/browser", func(w http.ResponseWriter, r *http.Request) error {
		return registration.registrationInit(w, r, identity.TypeBrowser)
	})
	rt.Get("/self-service/registration/api", func(w http.ResponseWriter, r *http.Request) error {
		return registration.registrationInit(w, r, identity.TypeAPI)
	})
	rt.Get("/self-service/registration/flows", func(w http.ResponseWriter, r *http.Request) error {
		return s.getFlowHandler(w, r, identity.KindRegistration)
	})
	rt.Post("/self-service/registration", registration.registrationSubmit)

	rt.Get("/self-service/logout/browser", logout.logoutInit)
	rt.Get("/self-service/logout", logout.logout)
	rt.Handle("/self-service/logout/api", map[string]route.HandlerFunc{http.MethodDelete: logout.logoutAPI})

	rt.Get("/self-service/settings/browser", func(w http.ResponseWriter, r *http.Request) error {
		return settings.settingsInit(w, r, identity.TypeBrowser)
	})
	rt.Get("/self-service/settings/api", func(w http.ResponseWriter, r *http.Request) error {
		return settings.settingsInit(w, r, identity.TypeAPI)
	})
	rt.Get("/self-service/settings/flows", settings.settingsFetch)
	// GET resumes a paused submission after its refresh login.
	rt.Handle("/self-service/settings", map[string]route.HandlerFunc{
		http.MethodGet: settings.settingsSubmit, http.MethodPost: settings.settingsSubmit,
	})

	verification, recovery := verificationFlow{s}, recoveryFlow{s}
	rt.Get("/self-service/verification/browser", func(w http.ResponseWriter, r *http.Request) error {
		return verification.verificationInit(w, r, identity.TypeBrowser)
	})
	rt.Get("/self-service/verification/api", func(w http.ResponseWriter, r *http.Request) error {
		return verification.verificationInit(w, r, identity.TypeAPI)
	})
	rt.Get("/self-service/verification/flows", func(w http.ResponseWriter, r *http.Request) error {
		return s.codeFlowFetch(w, r, identity.KindVerification, s.cfg.Verification)
	})
	// GET is the link in the mail (?flow=&code=).
	rt.Handle("/self-service/verification", map[string]route.HandlerFunc{
		http.MethodGet: verification.verificationSubmit, http.MethodPost: verification.verificationSubmit,
	})

	rt.Get("/self-service/recovery/browser", func(w http.ResponseWriter, r *http.Request) error {
		return recovery.recoveryInit(w, r, identity.TypeBrowser)
	})
	rt.Get("/self-service/recovery/api", func(w http.ResponseWriter, r *http.Request) error {
		return recovery.recoveryInit(w, r, identity.TypeAPI)
	})
	rt.Get("/self-service/recovery/flows", func(w http.ResponseWriter, r *http.Request) error {
		return s.codeFlowFetch(w, r, identity.KindRecovery, s.cfg.Recovery)
	})
	rt.Post("/self-service/recovery", recovery.recoverySubmit)

	rt.Get("/self-service/browser/flows/profile", profile.profileInit)
	rt.Get("/self-service/browser/flows/requests/profile", func(w http.ResponseWriter, r *http.Request) error {
		return profile.profileFetch(w, r, false)
	})
	rt.Post("/self-service/browser/flows/profile/update", profile.profileUpdate)

	rt.Get("/health/alive", page(func(w http.ResponseWriter, r *http.Request) { s.Health(w, r, false, false) }))
	rt.Get("/health/ready", page(func(w http.ResponseWriter, r *http.Request) { s.Health(w, r, true, false) }))
	rt.Get("/self-service/errors", s.errorFetch)
	rt.Get("/schemas", func(w http.ResponseWriter, r *http.Request) error { return s.ServeSchemas(w, r, "") })
	rt.Get("/schemas/{id}", func(w http.ResponseWriter, r *http.Request) error {
		return s.ServeSchemas(w, r, r.PathValue("id"))
	})

	rt.Get(siteurl.LoginPath, page(func(w http.ResponseWriter, r *http.Request) { ui.AuthPage(w, r, identity.KindLogin) }))
	rt.Get(siteurl.RegistrationPath, page(func(w http.ResponseWriter, r *http.Request) {
		ui.AuthPage(w, r, identity.KindRegistration)
	}))
	rt.Get(siteurl.SettingsPath, page(ui.SettingsPage))
	rt.Get(siteurl.RecoveryPath, page(func(w http.ResponseWriter, r *http.Request) { ui.CodePage(w, r, identity.KindRecovery) }))
	rt.Get(siteurl.VerificationPath, page(func(w http.ResponseWriter, r *http.Request) {
		ui.CodePage(w, r, identity.KindVerification)
	}))
	rt.Post(pages.DevicesPath, page(ui.RevokeDevices))
	rt.Get(siteurl.ProfilePath, page(ui.ProfilePage))
	rt.Get(siteurl.ErrorPath, page(ui.ErrorPage))
	rt.Get(pages.StylePath, page(ui.Stylesheet))

	rt.NotFound(func(http.ResponseWriter, *http.Request) error { return apierror.AsJSON(notFound()) })
	return rt.Mux
}

// page routes a built-in page, which answers its errors itself.
func page(h http.HandlerFunc) route.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h(w, r)
		return nil
	}
}

// ServeSchemas answers GET /schemas (id "") and /schemas/{id} (the id plain
// or base64url).
func (s *Service) ServeSchemas(w http.ResponseWriter, r *http.Request, id string) error {
	sch := s.cfg.Schema
	if id == "" {
		reply.JSON(w, http.StatusOK, []map[string]any{{"id": sch.ID(), "schema": json.RawMessage(sch.Raw())}})
		return nil
	}
	if dec, err := base64.RawURLEncoding.DecodeString(id); err == nil && string(dec) == sch.ID() {
		id = sch.ID()
	}
	if id != sch.ID() {
		return apierror.AsJSON(apierror.NotFound("The requested schema could not be found."))
	}
	reply.NoCache(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(sch.Raw())
	return nil
}

// errorFetch answers GET /self-service/errors?id= for the error UI.
func (s *Service) errorFetch(w http.ResponseWriter, r *http.Request) error {
	f, err := s.loadFlow(r.Context(), r.URL.Query().Get("id"), identity.KindError)
	if err != nil {
		return apierror.AsJSON(err)
	}
	reply.JSON(w, http.StatusOK, map[string]any{
		"id": f.ID, "error": json.RawMessage(f.Error), "created_at": f.IssuedAt, "updated_at": f.UpdatedAt,
	})
	return nil
}
