package admin

import (
	"net/http"
	"testing"
)

// TestAdminDeleteIdentityCredentials: as in Kratos v1.3.1, the password (a
// first factor) cannot be deleted, a type the identity does not have is 404
// naming it, and so is an unknown identity; the identity is unchanged.
func TestAdminDeleteIdentityCredentials(t *testing.T) {
	e := newAdminEnv(t)
	withPassword := e.create(map[string]any{"email": "ada@example.com"}, "credentials", pwConfig(map[string]any{"password": "correct horse battery staple"}))["id"].(string)
	without := e.create(map[string]any{"email": "bob@example.com"})["id"].(string)
	before := e.stored(withPassword)

	for _, tc := range []struct {
		path, frag string
		code       int
	}{
		{"/admin/identities/" + withPassword + "/credentials/password", "You cannot remove first factor credentials.", 400},
		{"/identities/" + withPassword + "/credentials/password", "You cannot remove first factor credentials.", 400},
		// The identity has a password credential for its identifier (as
		// Kratos has), even without a password set.
		{"/admin/identities/" + without + "/credentials/password", "You cannot remove first factor credentials.", 400},
		{"/admin/identities/" + withPassword + "/credentials/totp", "You tried to remove a totp but this user have no totp set up.", 404},
		{"/admin/identities/" + withPassword + "/credentials/oidc?identifier=google:1", "You tried to remove a oidc but this user have no oidc set up.", 404},
		{"/admin/identities/" + withPassword + "/credentials/nonsense", "You tried to remove a nonsense but this user have no nonsense set up.", 404},
	} {
		e.admin(http.MethodDelete, tc.path, nil).ExpectError(t, tc.code, tc.frag)
	}
	for _, path := range []string{
		"/admin/identities/00000000-0000-4000-8000-000000000000/credentials/password",
		"/admin/identities/not-a-uuid/credentials/password",
	} {
		if got := e.admin(http.MethodDelete, path, nil).ExpectError(t, http.StatusNotFound); got["message"] != "Unable to locate the resource" {
			t.Fatalf("%s: %v", path, got)
		}
	}
	if r := e.admin(http.MethodGet, "/admin/identities/"+withPassword+"/credentials/password", nil); r.ExpectError(t, http.StatusMethodNotAllowed) != nil && r.Header().Get("Allow") != "DELETE" {
		t.Fatalf("Allow %q", r.Header().Get("Allow"))
	}

	after := e.stored(withPassword)
	if after.Version != before.Version || after.Password == nil || after.Password.HashedPassword != before.Password.HashedPassword {
		t.Fatalf("the identity changed: %+v", after.Password)
	}
}

// TestAdminDeleteIdentityCredentialsNone: an identity whose schema has no
// login identifier has no password credential: 404, as in Kratos.
func TestAdminDeleteIdentityCredentialsNone(t *testing.T) {
	e := newAdminEnv(t, withSchema(`{"type": "object", "properties": {"traits": {"type": "object", "properties": {"nick": {"type": "string"}}}}}`))
	id := e.create(map[string]any{"nick": "ada"})["id"].(string)
	e.admin(http.MethodDelete, "/admin/identities/"+id+"/credentials/password", nil).
		ExpectError(t, http.StatusNotFound, "You tried to remove a password but this user have no password set up.")
}
