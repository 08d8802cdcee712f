package flows

import (
	"encoding/base64"
	"net/http"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
)

// schemaURL is where the identity schema is served.
func (s *Service) schemaURL(r *http.Request) string {
	return s.site.PublicURL(r, "/schemas/"+base64.RawURLEncoding.EncodeToString([]byte(s.cfg.Schema.ID())), nil)
}

// IdentityJSON is the wire form of an identity on this site; admin adds
// the admin metadata and the credentials' identifiers.
func (s *Service) IdentityJSON(r *http.Request, id *identity.Identity, admin bool) *wire.Identity {
	return wire.NewIdentity(id, s.schemaURL(r), admin)
}

// SessionJSON is the wire form of a session, now.
func (s *Service) SessionJSON(r *http.Request, sess *identity.Session, id *identity.Identity, admin bool) *wire.Session {
	return wire.NewSession(sess, id, s.schemaURL(r), s.cfg.Now(), s.cfg.PrivilegedSessionMaxAge, admin)
}

// flowJSON is the wire form of a login, registration or settings flow
// (shownUI its form).
func (s *Service) flowJSON(r *http.Request, f *identity.Flow, id *identity.Identity) *wire.Flow {
	ui := shownUI(f, id)
	return wire.NewFlow(f, &ui, id, s.schemaURL(r))
}

// shownUI is the form a flow shows: its UI, and on a settings flow the
// notice of its identity's pending address change.
func shownUI(f *identity.Flow, id *identity.Identity) identity.UI {
	ui := f.UI
	if f.Kind == identity.KindSettings {
		pendingChangeNotice(&ui, id)
	}
	return ui
}
