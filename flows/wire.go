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

// flowJSON is the wire form of a login, registration or settings flow.
// A settings flow shows its identity's pending address change.
func (s *Service) flowJSON(r *http.Request, f *identity.Flow, id *identity.Identity) *wire.Flow {
	out := wire.NewFlow(f, id, s.schemaURL(r))
	if f.Kind == identity.KindSettings {
		pendingChangeNotice(out, id)
	}
	return out
}
