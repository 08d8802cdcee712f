package flows

import (
	"net/http"
	"slices"
	"strings"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
)

// router registers handlers on a net/http.ServeMux under a path prefix.
// Every path answers the methods it was given (GET also answers HEAD) and
// 405 with Allow for any other, in the error envelope; errors that handlers
// return go to onError.
type router struct {
	mux     *http.ServeMux
	prefix  string
	onError func(http.ResponseWriter, *http.Request, error)
}

func newRouter(prefix string, onError func(http.ResponseWriter, *http.Request, error)) *router {
	return &router{mux: http.NewServeMux(), prefix: prefix, onError: onError}
}

// handle routes path's methods to their handlers.
func (rt *router) handle(path string, byMethod map[string]handlerFunc) {
	var allow []string
	for method, h := range byMethod {
		rt.mux.Handle(method+" "+rt.prefix+path, rt.wrap(h))
		allow = append(allow, method)
		if method == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	slices.Sort(allow)
	rt.mux.Handle(rt.prefix+path, rt.wrap(methodNotAllowed(strings.Join(allow, ", "))))
}

func (rt *router) get(path string, h handlerFunc) {
	rt.handle(path, map[string]handlerFunc{http.MethodGet: h})
}

func (rt *router) post(path string, h handlerFunc) {
	rt.handle(path, map[string]handlerFunc{http.MethodPost: h})
}

// notFound answers every path no route has.
func (rt *router) notFound(h handlerFunc) {
	rt.mux.Handle("/", rt.wrap(h))
}

func (rt *router) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			rt.onError(w, r, err)
		}
	})
}

// methodNotAllowed answers 405 with the methods a path allows.
func methodNotAllowed(allow string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return asJSON(apierror.New(http.StatusMethodNotAllowed, "The method %s is not allowed here.", r.Method))
	}
}
