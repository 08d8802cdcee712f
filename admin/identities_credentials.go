package admin

import (
	"net/http"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
)

// adminDeleteIdentityCredentials answers DELETE
// /admin/identities/{id}/credentials/{type} as Kratos v1.3.1 does. Kratos
// deletes only second factors (lookup_secret, totp, webauthn) and social
// sign-in links (oidc); the first factors, password and code, cannot be
// deleted: 400. Identities here have no credentials but the password, so
// every other type, and the password of an identity without one, is 404.
// An unknown or malformed id is 404 too.
func (s *API) adminDeleteIdentityCredentials(w http.ResponseWriter, r *http.Request, idStr string) error {
	id, err := s.adminLoadIdentity(r, idStr)
	if err != nil {
		return err
	}
	typ := r.PathValue("type")
	if typ != "password" || id.Password == nil {
		return apierror.NotFound("You tried to remove a %s but this user have no %s set up.", typ, typ)
	}
	return apierror.BadRequest("You cannot remove first factor credentials.")
}
