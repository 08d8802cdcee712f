package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/route"
)

// ServeAdmin answers a request for the admin API. Every route is served
// under /admin/... and, as modern Kratos does, under the same path without
// /admin. Unknown paths are 404, a known path with another method is 405.
//
//	GET    /admin/identities                      list (page_size, page_token, credentials_identifier)
//	POST   /admin/identities                      create: 201 + Location
//	PATCH  /admin/identities                      batch create (at most 2000): 200, a result per item
//	GET    /admin/identities/{id}                 get (ETag)
//	PUT    /admin/identities/{id}                 replace (If-Match → 412)
//	PATCH  /admin/identities/{id}                 RFC 6902 JSON Patch (If-Match → 412)
//	DELETE /admin/identities/{id}                 204, with its sessions
//	DELETE /admin/identities/{id}/credentials/{type}  as Kratos: 400 for password, 404 for a type it lacks
//	GET    /admin/identities/{id}/sessions        the identity's sessions (active=true|false)
//	DELETE /admin/identities/{id}/sessions        204
//	GET    /admin/sessions                        every session (page_size, page_token, active, expand)
//	GET    /admin/sessions/{id}                   session with its identity
//	DELETE /admin/sessions/{id}                   204: deactivates it, as Kratos
//	PATCH  /admin/sessions/{id}/extend            200: expires_at = now + session lifespan
//	GET    /schemas, /schemas/{id}                the identity schema
//	GET    /self-service/browser/flows/requests/profile?request=  legacy admin fetch
//	GET    /admin/courier/messages                courier messages (status, page_size, page_token)
//	GET    /admin/courier/messages/{id}           one message with its dispatches
//	GET    /mailbox                               the development mailbox page (only with mailbox)
func (s *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if path.Clean(r.URL.Path) != r.URL.Path {
		// ServeMux would redirect to the cleaned path; nothing of ours lives
		// at an unclean one.
		s.writeError(w, r, apierror.NotFound("The requested resource could not be found"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// routes is the admin API's route table, under /admin and without it.
func (s *API) routes() *http.ServeMux {
	rt := route.New("", s.writeError)
	for _, rt := range []*route.Router{rt, rt.WithPrefix("/admin")} {
		rt.Handle("/identities", map[string]route.HandlerFunc{
			http.MethodGet: s.adminListIdentities, http.MethodPost: s.adminCreateIdentity,
			http.MethodPatch: s.adminBatchPatchIdentities,
		})
		rt.Handle("/identities/{id}", map[string]route.HandlerFunc{
			http.MethodGet:    withID(s.adminGetIdentity),
			http.MethodPut:    withID(s.adminPutIdentity),
			http.MethodPatch:  withID(s.adminPatchIdentity),
			http.MethodDelete: withID(s.adminDeleteIdentity),
		})
		rt.Handle("/identities/{id}/credentials/{type}", map[string]route.HandlerFunc{
			http.MethodDelete: withID(s.adminDeleteIdentityCredentials),
		})
		rt.Handle("/identities/{id}/sessions", map[string]route.HandlerFunc{
			http.MethodGet: withID(s.adminListIdentitySessions), http.MethodDelete: withID(s.adminDeleteIdentitySessions),
		})
		rt.Get("/sessions", s.adminListSessions)
		rt.Handle("/sessions/{id}", map[string]route.HandlerFunc{
			http.MethodGet: withID(s.adminGetSession), http.MethodDelete: withID(s.adminDeactivateSession),
		})
		rt.Handle("/sessions/{id}/extend", map[string]route.HandlerFunc{http.MethodPatch: withID(s.adminExtendSession)})
		rt.Get("/schemas", func(w http.ResponseWriter, r *http.Request) error { return s.svc.ServeSchemas(w, r, "") })
		rt.Get("/schemas/{id}", withID(s.svc.ServeSchemas))
		rt.Get("/self-service/browser/flows/requests/profile", s.svc.ServeLegacyAdminProfile)
		rt.Post("/recovery/code", s.adminRecoveryCode)
		rt.Get("/courier/messages", s.adminListMessages)
		rt.Get("/courier/messages/{id}", withID(s.adminGetMessage))
		rt.Get("/health/alive", func(w http.ResponseWriter, r *http.Request) error { s.svc.Health(w, r, false, true); return nil })
		rt.Get("/health/ready", func(w http.ResponseWriter, r *http.Request) error { s.svc.Health(w, r, true, true); return nil })
		rt.Get("/version", func(w http.ResponseWriter, r *http.Request) error {
			reply.JSON(w, http.StatusOK, map[string]string{"version": Version()})
			return nil
		})
	}
	rt.Get("/mailbox", s.serveMailbox)
	rt.NotFound(func(http.ResponseWriter, *http.Request) error {
		return apierror.NotFound("The requested resource could not be found")
	})
	return rt.Mux
}

// withID passes a handler the {id} of its path.
func withID(h func(http.ResponseWriter, *http.Request, string) error) route.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return h(w, r, r.PathValue("id")) }
}

// adminBase is the admin API's base URL: the request's own scheme and host.
func adminBase(r *http.Request) *url.URL {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
}

// adminIdentityURL is the admin URL of an identity as Kratos builds it,
// without /admin: the Location of a created identity.
func adminIdentityURL(r *http.Request, id string) string {
	u := adminBase(r)
	u.Path = "/identities/" + id
	return u.String()
}

// readAdminJSON reads and decodes a JSON request body of any JSON type, with
// numbers as json.Number. The Content-Type is not checked (Kratos' admin API
// does not check it either, so `curl -d` works). Errors are 4xx.
func readAdminJSON(w http.ResponseWriter, r *http.Request) (any, []byte, error) {
	return readAdminJSONUpTo(w, r, body.MaxBodyBytes)
}

// readAdminJSONUpTo is readAdminJSON with a body of at most limit bytes.
func readAdminJSONUpTo(w http.ResponseWriter, r *http.Request, limit int64) (any, []byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, nil, apierror.New(http.StatusRequestEntityTooLarge, "The request body is larger than %d bytes.", limit)
		}
		return nil, nil, apierror.BadRequest("Unable to read the HTTP request body.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil, apierror.BadRequest("The request body is empty; a JSON document is expected.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, apierror.BadRequest("The request body is not valid JSON: %v.", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, apierror.BadRequest("The request body holds more than one JSON value.")
	}
	if err := body.CheckNumbers(v); err != nil {
		return nil, nil, err
	}
	return v, raw, nil
}

// readAdminObject reads a JSON request body that must be an object.
func readAdminObject(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	v, _, err := readAdminJSON(w, r)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, apierror.BadRequest("The request body must be a JSON object.")
	}
	return obj, nil
}

// adminETag is the entity tag of an identity version.
func adminETag(version int64) string {
	return `"` + strconv.FormatInt(version, 10) + `"`
}

// adminIfMatch reads the If-Match header: present reports whether it was sent,
// and matches whether one of its entity tags (weak or strong, or "*") is the
// identity's version.
func adminIfMatch(r *http.Request, version int64) (present, matches bool) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return false, false
	}
	want := strconv.FormatInt(version, 10)
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return true, true
			}
			tag = strings.TrimPrefix(tag, "W/")
			if len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"' && tag[1:len(tag)-1] == want {
				return true, true
			}
		}
	}
	return true, false
}

func errAdminPrecondition(r *http.Request, version int64) *apierror.Error {
	return apierror.New(http.StatusPreconditionFailed,
		"The identity was changed since it was read: If-Match %s does not match its current ETag %s.",
		strings.Join(r.Header.Values("If-Match"), ", "), adminETag(version))
}

func errAdminIdentityConflict() *apierror.Error {
	return apierror.New(http.StatusConflict, "This identity conflicts with another identity that already exists.")
}
