package admin

import (
	"net/http"
	"testing"
)

// TestAdminHealthAndVersion: the admin API answers Kratos' health and
// version endpoints, with and without /admin.
func TestAdminHealthAndVersion(t *testing.T) {
	e := newAdminEnv(t)
	for _, path := range []string{"/admin/health/alive", "/admin/health/ready", "/health/ready"} {
		if got := e.admin(http.MethodGet, path, nil).Expect(t, http.StatusOK).Obj(t); got["status"] != "ok" {
			t.Errorf("%s: %v", path, got)
		}
	}
	if got := e.admin(http.MethodGet, "/admin/version", nil).Expect(t, http.StatusOK).Obj(t); got["version"] != "master" {
		t.Errorf("version %v, want master for a build of the repository itself", got)
	}
}
