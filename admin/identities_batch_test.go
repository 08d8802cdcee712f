package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
)

// batchItems is the "identities" list of a batch response.
func batchItems(t *testing.T, obj map[string]any) []any {
	t.Helper()
	items, ok := obj["identities"].([]any)
	if !ok {
		t.Fatalf("no identities list: %v", obj)
	}
	return items
}

// TestAdminBatchCreate: PATCH /admin/identities creates every valid item in
// order, and reports an item with invalid traits or a taken identifier
// (by an existing identity or an earlier item) as "error", as Kratos v1.3.1
// does, without failing the others. An item without create answers null.
func TestAdminBatchCreate(t *testing.T) {
	const pw = "correct horse battery staple"
	for _, path := range []string{"/admin/identities", "/identities"} {
		t.Run(path, func(t *testing.T) {
			e := newAdminEnv(t)
			taken := e.create(map[string]any{"email": "taken@example.com"})
			res := e.admin(http.MethodPatch, path, map[string]any{"identities": []any{
				map[string]any{"patch_id": "0B1D0F5C-0A5E-4C3B-9E0F-1D2C3B4A5968", "create": map[string]any{
					"traits":      map[string]any{"email": "Ada@Example.com", "name": map[string]any{"first": "Ada"}},
					"credentials": pwConfig(map[string]any{"password": pw}),
					"state":       "inactive",
				}},
				map[string]any{"patch_id": "6f1e0e2a-3c1b-4e57-9d0a-4d5b6c7e8f90", "create": map[string]any{"traits": map[string]any{"email": "not an email"}}},
				map[string]any{"create": map[string]any{"traits": map[string]any{"email": "TAKEN@example.com"}}},
				map[string]any{"patch_id": "aa1e0e2a-3c1b-4e57-9d0a-4d5b6c7e8f90"},
				map[string]any{"create": map[string]any{"traits": map[string]any{"email": "grace@example.com"}, "metadata_public": map[string]any{"team": "b"}}},
				map[string]any{"create": map[string]any{"traits": map[string]any{"email": "grace@example.com"}}},
			}}).Expect(t, http.StatusOK).Obj(t)
			items := batchItems(t, res)
			if len(items) != 6 {
				t.Fatalf("%d results, want 6: %v", len(items), res)
			}

			first := items[0].(map[string]any)
			if first["action"] != "create" || first["patch_id"] != "0b1d0f5c-0a5e-4c3b-9e0f-1d2c3b4a5968" || first["error"] != nil {
				t.Fatalf("first result %v", first)
			}
			ada := e.stored(first["identity"].(string))
			if ada.Traits["email"] != "Ada@Example.com" || ada.VerifiableAddresses[0].Value != "ada@example.com" || ada.State != "inactive" || ada.Password == nil || !passwords.Check(ada.Password.HashedPassword, pw) {
				t.Fatalf("stored %+v", ada)
			}

			invalid := items[1].(map[string]any)
			if invalid["action"] != "error" || invalid["patch_id"] != "6f1e0e2a-3c1b-4e57-9d0a-4d5b6c7e8f90" || invalid["identity"] != nil {
				t.Fatalf("invalid traits: %v", invalid)
			}
			if e := invalid["error"].(map[string]any); e["code"] != float64(400) || e["status"] != "Bad Request" || !strings.Contains(fmt.Sprint(e["reason"]), "email") {
				t.Fatalf("invalid traits error %v", e)
			}

			for _, i := range []int{2, 5} {
				dup := items[i].(map[string]any)
				e, _ := dup["error"].(map[string]any)
				if dup["action"] != "error" || dup["identity"] != nil || dup["patch_id"] != nil || e["code"] != float64(409) || e["status"] != "Conflict" ||
					e["message"] != "Unable to insert or update resource because a resource with that value exists already" {
					t.Fatalf("item %d, a taken identifier: %v", i, dup)
				}
			}
			if items[3] != nil {
				t.Fatalf("an item without create: %v, want null", items[3])
			}
			grace := items[4].(map[string]any)
			if grace["action"] != "create" || grace["patch_id"] != nil {
				t.Fatalf("grace %v", grace)
			}
			if got := e.stored(grace["identity"].(string)); string(got.MetadataPublic) != `{"team":"b"}` {
				t.Fatalf("metadata %s", got.MetadataPublic)
			}
			if n := e.count(); n != 3 {
				t.Fatalf("%d identities stored, want taken, ada and grace", n)
			}
			if e.stored(taken["id"].(string)).Traits["email"] != "taken@example.com" {
				t.Fatal("the existing identity changed")
			}
		})
	}
}

// TestAdminBatchCreateEmpty: no items, or no list, is an empty result.
func TestAdminBatchCreateEmpty(t *testing.T) {
	e := newAdminEnv(t)
	for _, b := range []string{`{}`, `{"identities":null}`, `{"identities":[]}`} {
		if got := e.admin(http.MethodPatch, "/admin/identities", b).Expect(t, http.StatusOK).Body.String(); strings.TrimSpace(got) != `{"identities":[]}` {
			t.Fatalf("%s: %s", b, got)
		}
	}
}

// TestAdminBatchCreateRefused: a body Kratos cannot decode fails the whole
// batch with 400 (413 for one beyond the size bounds), naming the item, and
// nothing is created, not even the valid items before it.
func TestAdminBatchCreateRefused(t *testing.T) {
	valid := map[string]any{"create": map[string]any{"traits": map[string]any{"email": "ok@example.com"}}}
	with := func(item any) map[string]any { return map[string]any{"identities": []any{valid, item}} }
	many := make([]any, adminBatchMaxItems+1)
	for i := range many {
		many[i] = map[string]any{}
	}
	for _, tc := range []struct {
		name string
		body any
		code int
		frag string
	}{
		{"not an object", `[]`, 400, "must be a JSON object"},
		{"unknown top-level field", map[string]any{"identities": []any{valid}, "with_partial_inserts": true}, 400, `unknown field "with_partial_inserts"`},
		{"identities not a list", map[string]any{"identities": "x"}, 400, "must be a JSON array"},
		{"too many", map[string]any{"identities": many}, 400, "The maximum number of identities that can be created or deleted at once is 2000."},
		{"item not an object", with("x"), 400, "identities[1] must be a JSON object"},
		{"item unknown field", with(map[string]any{"action": "create", "create": valid["create"]}), 400, `identities[1] has the unknown field "action"`},
		{"bad patch id", with(map[string]any{"patch_id": "not-a-uuid", "create": valid["create"]}), 400, "identities[1].patch_id must be a UUID"},
		{"create not an object", with(map[string]any{"create": []any{}}), 400, "identities[1].create must be a JSON object"},
		{"create unknown field", with(map[string]any{"create": map[string]any{"traits": map[string]any{}, "id": "x"}}), 400, `identities[1].create: The request body has the unknown field "id"`},
		{"bad state", with(map[string]any{"create": map[string]any{"traits": map[string]any{"email": "x@example.com"}, "state": "gone"}}), 400, `"state" must be`},
		{"bad hash", with(map[string]any{"create": map[string]any{"traits": map[string]any{"email": "x@example.com"}, "credentials": pwConfig(map[string]any{"hashed_password": "plain"})}}), 400, "not a bcrypt or argon2id hash"},
		{"traits too deep", with(map[string]any{"create": map[string]any{"traits": map[string]any{"email": "x@example.com", "name": nested(40)}}}), 400, "nested deeper"},
		{"item too large", with(map[string]any{"create": map[string]any{"traits": map[string]any{"email": "x@example.com"}, "metadata_admin": map[string]any{"a": strings.Repeat("a", 15<<10), "b": strings.Repeat("b", 15<<10), "c": strings.Repeat("c", 15<<10), "d": strings.Repeat("d", 15<<10), "e": strings.Repeat("e", 15<<10)}}}), 413, fmt.Sprintf("identities[1].create is larger than %d bytes", body.MaxBodyBytes)},
		{"body too large", `{"identities":[` + strings.Repeat(`{},`, adminBatchMaxBodyBytes/3) + `{}]}`, 413, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAdminEnv(t)
			e.admin(http.MethodPatch, "/admin/identities", tc.body).ExpectError(t, tc.code, tc.frag)
			if n := e.count(); n != 0 {
				t.Fatalf("%d identities stored", n)
			}
		})
	}
}

// TestAdminBatchCreateAtLimit: the largest batch Kratos takes goes through.
func TestAdminBatchCreateAtLimit(t *testing.T) {
	e := newAdminEnv(t)
	items := make([]any, adminBatchMaxItems)
	for i := range items {
		items[i] = map[string]any{"create": map[string]any{"traits": map[string]any{"email": fmt.Sprintf("user%d@example.com", i)}}}
	}
	res := e.admin(http.MethodPatch, "/admin/identities", map[string]any{"identities": items}).Expect(t, http.StatusOK).Obj(t)
	for i, it := range batchItems(t, res) {
		if it.(map[string]any)["action"] != "create" {
			t.Fatalf("item %d: %v", i, it)
		}
	}
	if list, _, err := e.store.ListIdentities(context.Background(), "", 2*adminBatchMaxItems); err != nil || len(list) != adminBatchMaxItems {
		t.Fatalf("%d identities stored (%v)", len(list), err)
	}
}
