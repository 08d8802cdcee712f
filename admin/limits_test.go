package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// nested is a chain of n objects {"n": {"n": ... "leaf"}}.
func nested(n int) any {
	var v any = "leaf"
	for range n {
		v = map[string]any{"n": v}
	}
	return v
}

// TestAdminLimits: traits and metadata beyond identity.DefaultLimits are
// refused with 400 on create, PUT and PATCH, and nothing changes; the
// deepest identity the limits accept goes through every path (the largest
// is the store contract's AtLimits case: the admin body limit, 64 KiB, is
// reached first here).
func TestAdminLimits(t *testing.T) {
	e := newAdminEnv(t)
	lim := identity.DefaultLimits
	// traits (1) > name (2) > the chain's objects > "leaf": at the limit
	// with MaxDepth-2 objects in the chain.
	atLimit := map[string]any{"email": "deep@example.com", "name": nested(lim.MaxDepth - 2)}
	tooDeep := map[string]any{"email": "deep@example.com", "name": nested(lim.MaxDepth - 1)}

	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"traits too deep", map[string]any{"traits": tooDeep}, "nested deeper than the 32 levels"},
		{"string too long", map[string]any{"traits": map[string]any{"email": "x@example.com", "name": map[string]any{"first": strings.Repeat("a", lim.MaxString+1)}}}, "string longer than"},
		{"metadata too deep", map[string]any{"traits": map[string]any{"email": "x@example.com"}, "metadata_public": map[string]any{"m": nested(lim.MaxDepth)}}, "metadata_public are nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.admin(http.MethodPost, "/admin/identities", tc.body).ExpectError(t, http.StatusBadRequest, tc.want)
			if n := e.count(); n != 0 {
				t.Fatalf("%d identities stored", n)
			}
		})
	}

	// The deepest and largest identity the limits accept: created, read,
	// refused changes leave it as it was, a patch at the limit goes through.
	deepMeta := map[string]any{"m": nested(lim.MaxDepth - 2)}
	created := e.create(atLimit, "metadata_public", deepMeta)
	id := created["id"].(string)
	got := e.admin(http.MethodGet, "/admin/identities/"+id, nil).Expect(t, http.StatusOK).Obj(t)
	if !jsonSame(got["traits"], atLimit) || !jsonSame(got["metadata_public"], deepMeta) {
		t.Fatalf("read back %v", got["traits"])
	}
	e.admin(http.MethodPut, "/admin/identities/"+id, map[string]any{"traits": tooDeep}).ExpectError(t, http.StatusBadRequest, "nested deeper")
	e.admin(http.MethodPatch, "/admin/identities/"+id, []any{map[string]any{"op": "add", "path": "/metadata_admin", "value": map[string]any{"m": nested(lim.MaxDepth)}}}).
		ExpectError(t, http.StatusBadRequest, "metadata_admin are nested deeper")
	if st := e.stored(id); st.Version != 1 || len(st.MetadataAdmin) != 0 {
		t.Fatalf("a refused change was stored: version %d, metadata_admin %s", st.Version, st.MetadataAdmin)
	}
	e.admin(http.MethodPatch, "/admin/identities/"+id, []any{map[string]any{"op": "replace", "path": "/traits", "value": map[string]any{"email": "deep@example.com", "name": nested(lim.MaxDepth - 2)}}}).
		Expect(t, http.StatusOK)
	e.admin(http.MethodDelete, "/admin/identities/"+id, nil).Expect(t, http.StatusNoContent)
}

// jsonSame compares two values by their JSON encoding.
func jsonSame(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestAdminImportHashBounds: an imported hash whose verification would take
// terabytes or days is refused, and nothing is stored.
func TestAdminImportHashBounds(t *testing.T) {
	e := newAdminEnv(t)
	for _, hash := range []string{
		"$argon2id$v=19$m=4294967295,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
		"$2a$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
	} {
		e.admin(http.MethodPost, "/admin/identities", map[string]any{
			"traits":      map[string]any{"email": "import@example.com"},
			"credentials": pwConfig(map[string]any{"hashed_password": hash}),
		}).ExpectError(t, http.StatusBadRequest, "can be verified")
	}
	if n := e.count(); n != 0 {
		t.Fatalf("%d identities stored", n)
	}
}
