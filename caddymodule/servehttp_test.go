package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/admin"
	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/memstore"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// servingHandler is a handler with a service on a fresh memory store,
// built without the pool.
func servingHandler(t *testing.T, isAdmin bool) *Handler {
	t.Helper()
	sch, err := schema.CompileFile("default", writeSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := flows.New(flows.Config{Schema: sch, Store: memstore.New(), Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	return &Handler{PublicPrefix: flows.DefaultPublicPrefix, Admin: isAdmin, logger: zap.NewNop(), svc: svc, admin: admin.New(svc)}
}

// serve runs one request through h and reports whether next was called,
// and with which request.
func serve(t *testing.T, h *Handler, method, target string) (rec *httptest.ResponseRecorder, sent, seen *http.Request) {
	t.Helper()
	sent = httptest.NewRequest(method, target, nil)
	sent = sent.WithContext(context.WithValue(sent.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
	rec = httptest.NewRecorder()
	next := func(w http.ResponseWriter, r *http.Request) error {
		seen = r
		return nil
	}
	if err := h.ServeHTTP(rec, sent, caddyhttp.HandlerFunc(next)); err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return rec, sent, seen
}

func TestServeHTTPPassesOtherPathsThrough(t *testing.T) {
	h := servingHandler(t, false)
	for _, target := range []string{
		"/",
		"/app/page?x=1",
		"/.ory",
		"/.ory/kratos",
		"/.ory/kratos/publicX",
		"/.ory/kratos/public-api/sessions/whoami",
		"/x/.ory/kratos/public/sessions/whoami",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			rec, sent, seen := serve(t, h, method, target)
			if seen == nil {
				t.Errorf("%s %s: next not called", method, target)
				continue
			}
			if seen != sent || seen.URL.String() != target || seen.Method != method {
				t.Errorf("%s %s: next got %s %s, want the request untouched", method, target, seen.Method, seen.URL)
			}
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 || len(rec.Header()) != 0 {
				t.Errorf("%s %s: the handler wrote a response (%d, %q, %v)", method, target, rec.Code, rec.Body, rec.Header())
			}
		}
	}
}

func TestServeHTTPAnswersUnderThePrefix(t *testing.T) {
	h := servingHandler(t, false)
	for _, target := range []string{
		"/.ory/kratos/public",
		"/.ory/kratos/public/",
		"/.ory/kratos/public/sessions/whoami",
		"/.ory/kratos/public/self-service/browser/flows/profile",
	} {
		rec, _, seen := serve(t, h, http.MethodGet, target)
		if seen != nil {
			t.Errorf("GET %s: passed to next, want it answered by the service", target)
		}
		if rec.Code == 0 {
			t.Errorf("GET %s: no response written", target)
		}
	}
}

func TestServeHTTPAdminAnswersEverything(t *testing.T) {
	h := servingHandler(t, true)
	for _, target := range []string{"/", "/admin/identities", "/.ory/kratos/public/sessions/whoami", "/app"} {
		if _, _, seen := serve(t, h, http.MethodGet, target); seen != nil {
			t.Errorf("GET %s: admin handler passed the request to next", target)
		}
	}
}

func TestPublicPath(t *testing.T) {
	const prefix = "/.ory/kratos/public"
	for _, tc := range []struct {
		path string
		rel  string
		ok   bool
	}{
		{"/.ory/kratos/public", "/", true},
		{"/.ory/kratos/public/", "/", true},
		{"/.ory/kratos/public/sessions/whoami", "/sessions/whoami", true},
		{"/.ory/kratos/public//x", "//x", true},
		{"/.ory/kratos/publicX", "", false},
		{"/.ory/kratos/publi", "", false},
		{"/.ory/kratos", "", false},
		{"/", "", false},
		{"", "", false},
	} {
		rel, ok := publicPath(tc.path, prefix)
		if rel != tc.rel || ok != tc.ok {
			t.Errorf("publicPath(%q) = %q, %v; want %q, %v", tc.path, rel, ok, tc.rel, tc.ok)
		}
	}
}
