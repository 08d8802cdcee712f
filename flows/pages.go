package flows

import (
	"context"
	"net/http"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
)

// pagesBackend is what the built-in pages (package pages) read from the
// flows: the flows' own lookups, under the names of pages.Backend.
type pagesBackend struct{ *Service }

func (b pagesBackend) LoadFlow(ctx context.Context, id, kind string) (*identity.Flow, error) {
	return b.loadFlow(ctx, id, kind)
}

func (b pagesBackend) SessionAndFlow(r *http.Request, flowID string) (*identity.Session, *identity.Identity, *identity.Flow, error) {
	return b.sessionAndFlow(r, flowID)
}

func (b pagesBackend) CSRFFromCookie(r *http.Request) []byte { return b.cookies.csrfFromCookie(r) }

func (b pagesBackend) EnsureCSRF(w http.ResponseWriter, r *http.Request) []byte {
	return b.cookies.ensureCSRF(w, r)
}

func (b pagesBackend) FlowUI(f *identity.Flow, id *identity.Identity) identity.UI {
	return shownUI(f, id)
}

func (b pagesBackend) LegacyJSON(r *http.Request, f *identity.Flow, id *identity.Identity) wire.LegacyRequest {
	return profileFlow(b).legacyJSON(r, f, id)
}

func (b pagesBackend) AfterURL(r *http.Request, returnTo string) string {
	return b.afterURL(r, returnTo)
}

func (b pagesBackend) LogoutURL(r *http.Request, returnTo string) (string, string) {
	return b.logoutURL(r, returnTo)
}

func (b pagesBackend) CheckCSRF(r *http.Request, token string) error {
	return b.cookies.checkCSRF(r, token)
}
