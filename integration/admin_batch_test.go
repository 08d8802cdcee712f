package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ory "github.com/ory/client-go"
)

// TestAdminBatchCreateAndCredentials: through a real Caddy, with Redis and
// with the memory store: PATCH /admin/identities creates the valid items
// (their imported passwords log in) and reports invalid traits and a taken
// identifier per item; DELETE /admin/identities/{id}/credentials/password is
// refused as Kratos v1.3.1 refuses it, and the password still logs in.
func TestAdminBatchCreateAndCredentials(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB, string) *site
	}{{"redis", startSite}, {"memory", startSiteMemory}} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t, "")
			c := browser(t)
			// The memory store is shared by the whole process: addresses of
			// this run only.
			run := time.Now().UnixNano()
			ada, grace := fmt.Sprintf("ada%d@example.com", run), fmt.Sprintf("grace%d@example.com", run)
			const pw = "correct horse battery staple"
			body := fmt.Sprintf(`{"identities":[
				{"create":{"schema_id":"default","traits":{"email":%q},"credentials":{"password":{"config":{"password":%q}}}},"patch_id":"b0a7c1d2-1e2f-4a3b-8c4d-5e6f7a8b9c0d"},
				{"create":{"traits":{"email":"not an email"}},"patch_id":"c0a7c1d2-1e2f-4a3b-8c4d-5e6f7a8b9c0d"},
				{"create":{"traits":{"email":%q}}},
				{"create":{"traits":{"email":%q}}}
			]}`, ada, pw, grace, strings.ToUpper(ada))
			res := do(t, c, "PATCH", s.admin+"/admin/identities", body)
			wantStatus(t, res, http.StatusOK)
			items, _ := res.json(t)["identities"].([]any)
			if len(items) != 4 {
				t.Fatalf("%d results: %s", len(items), res.body)
			}
			for i, want := range []struct{ action, patchID, code any }{
				{"create", "b0a7c1d2-1e2f-4a3b-8c4d-5e6f7a8b9c0d", nil},
				{"error", "c0a7c1d2-1e2f-4a3b-8c4d-5e6f7a8b9c0d", float64(400)},
				{"create", nil, nil},
				{"error", nil, float64(409)},
			} {
				got := items[i].(map[string]any)
				if got["action"] != want.action || got["patch_id"] != want.patchID || get(got, "error", "code") != want.code || (want.code == nil) == (got["identity"] == nil) {
					t.Fatalf("item %d: %v, want %+v", i, got, want)
				}
			}
			adaID := get(items[0], "identity").(string)
			loginAPI(t, s, ada, pw)

			// The identity is there, as the admin API shows it.
			got := do(t, c, "GET", s.admin+"/admin/identities/"+adaID, nil)
			wantStatus(t, got, http.StatusOK)
			if get(got.json(t), "traits", "email") != ada {
				t.Fatalf("created identity %s", got.body)
			}

			for _, del := range []struct {
				path, reason string
				code         int
			}{
				{"/admin/identities/" + adaID + "/credentials/password", "You cannot remove first factor credentials.", 400},
				{"/identities/" + adaID + "/credentials/webauthn", "You tried to remove a webauthn but this user have no webauthn set up.", 404},
				{"/admin/identities/00000000-0000-4000-8000-000000000000/credentials/password", "", 404},
			} {
				r := do(t, c, "DELETE", s.admin+del.path, nil)
				wantStatus(t, r, del.code)
				if e := r.json(t)["error"]; get(e, "code") != float64(del.code) || get(e, "reason") != nilIfEmpty(del.reason) {
					t.Fatalf("DELETE %s: %s", del.path, r.body)
				}
			}
			loginAPI(t, s, ada, pw)
		})
	}
}

// nilIfEmpty is nil for "", else s: a reason the envelope omits when empty.
func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestSDKAdminBatchAndCredentials: Ory's Go SDK decodes the batch response,
// per-item errors included, and the errors of the credential delete.
func TestSDKAdminBatchAndCredentials(t *testing.T) {
	s := startSite(t, "")
	ctx := context.Background()
	adm := sdkClient(s.admin, sdkNativeHTTP(t)).IdentityAPI
	patchID := "d0a7c1d2-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
	body := ory.PatchIdentitiesBody{Identities: []ory.IdentityPatch{
		{Create: &ory.CreateIdentityBody{SchemaId: "default", Traits: map[string]any{"email": "sdk-batch@example.com"}}, PatchId: &patchID},
		{Create: &ory.CreateIdentityBody{SchemaId: "default", Traits: map[string]any{"email": "SDK-batch@example.com"}}},
		{Create: &ory.CreateIdentityBody{SchemaId: "default", Traits: map[string]any{"email": "x"}}},
	}}
	out, res, err := adm.BatchPatchIdentities(ctx).PatchIdentitiesBody(body).Execute()
	sdkOK(t, "BatchPatchIdentities", res, err, 200)
	if len(out.Identities) != 3 {
		t.Fatalf("%d results", len(out.Identities))
	}
	first, dup, invalid := out.Identities[0], out.Identities[1], out.Identities[2]
	if first.GetAction() != "create" || first.GetPatchId() != patchID || first.GetIdentity() == "" || first.Error != nil {
		t.Fatalf("first: %+v", first)
	}
	if dup.GetAction() != "error" || dup.Identity != nil || get(dup.Error, "code") != float64(409) {
		t.Fatalf("duplicate: %+v", dup)
	}
	if invalid.GetAction() != "error" || get(invalid.Error, "code") != float64(400) || !strings.Contains(fmt.Sprint(get(invalid.Error, "reason")), "email") {
		t.Fatalf("invalid: %+v", invalid)
	}
	got, res, err := adm.GetIdentity(ctx, first.GetIdentity()).Execute()
	sdkOK(t, "GetIdentity", res, err, 200)
	if got.Traits.(map[string]any)["email"] != "sdk-batch@example.com" {
		t.Fatalf("created: %+v", got.Traits)
	}

	res, err = adm.DeleteIdentityCredentials(ctx, first.GetIdentity(), "password").Execute()
	ae := sdkErr(t, "DeleteIdentityCredentials password", res, err, 400)
	if m, ok := ae.Model().(ory.ErrorGeneric); !ok || m.Error.AdditionalProperties["reason"] != "You cannot remove first factor credentials." {
		t.Fatalf("model %#v\nbody: %s", ae.Model(), ae.Body())
	}
	res, err = adm.DeleteIdentityCredentials(ctx, first.GetIdentity(), "oidc").Identifier("google:123").Execute()
	ae = sdkErr(t, "DeleteIdentityCredentials oidc", res, err, 404)
	if m, ok := ae.Model().(ory.ErrorGeneric); !ok || m.Error.AdditionalProperties["reason"] != "You tried to remove a oidc but this user have no oidc set up." {
		t.Fatalf("model %#v\nbody: %s", ae.Model(), ae.Body())
	}
}
