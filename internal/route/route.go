// Package route is the route table of the public and admin APIs: handlers
// that return their errors, on net/http.ServeMux patterns, with 405 and
// Allow for a known path asked with another method.
package route

import (
	"net/http"
	"slices"
	"strings"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
)

// Router registers handlers on a net/http.ServeMux under a path prefix.
// Every path answers the methods it was given (GET also answers HEAD) and
// 405 with Allow for any other, in the error envelope; errors that handlers
// return go to onError.
type Router struct {
	Mux     *http.ServeMux
	prefix  string
	onError func(http.ResponseWriter, *http.Request, error)
}

// HandlerFunc answers a request, or returns the error to answer with.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// New returns a router for paths under prefix; onError answers with the
// errors handlers return.
func New(prefix string, onError func(http.ResponseWriter, *http.Request, error)) *Router {
	return &Router{Mux: http.NewServeMux(), prefix: prefix, onError: onError}
}

// WithPrefix returns a router for paths under another prefix, on the same
// mux and with the same error handling.
func (rt *Router) WithPrefix(prefix string) *Router {
	return &Router{Mux: rt.Mux, prefix: prefix, onError: rt.onError}
}

// Handle routes path's methods to their handlers.
func (rt *Router) Handle(path string, byMethod map[string]HandlerFunc) {
	var allow []string
	for method, h := range byMethod {
		rt.Mux.Handle(method+" "+rt.prefix+path, rt.wrap(h))
		allow = append(allow, method)
		if method == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	slices.SortFunc(allow, func(a, b string) int {
		return slices.Index(methodOrder, a) - slices.Index(methodOrder, b)
	})
	rt.Mux.Handle(rt.prefix+path, rt.wrap(methodNotAllowed(strings.Join(allow, ", "))))
}

// Get routes GET (and so HEAD) of path to h.
func (rt *Router) Get(path string, h HandlerFunc) {
	rt.Handle(path, map[string]HandlerFunc{http.MethodGet: h})
}

// Any routes every method of path to h.
func (rt *Router) Any(path string, h HandlerFunc) {
	rt.Mux.Handle(rt.prefix+path, rt.wrap(h))
}

// Post routes POST of path to h.
func (rt *Router) Post(path string, h HandlerFunc) {
	rt.Handle(path, map[string]HandlerFunc{http.MethodPost: h})
}

// NotFound answers every path no route has.
func (rt *Router) NotFound(h HandlerFunc) {
	rt.Mux.Handle("/", rt.wrap(h))
}

func (rt *Router) wrap(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			rt.onError(w, r, err)
		}
	})
}

// methodOrder is the order of the methods in Allow.
var methodOrder = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed answers 405 with the methods a path allows.
func methodNotAllowed(allow string) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return apierror.AsJSON(apierror.New(http.StatusMethodNotAllowed, "The method %s is not allowed here.", r.Method))
	}
}
