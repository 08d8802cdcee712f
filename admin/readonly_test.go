package admin

import (
	"net/http"
	"net/url"
	"testing"
)

// readOnlyTestSchema has a read-only trait and a read-only object.
const readOnlyTestSchema = `{
  "$id": "https://schemas.example.com/readonly-test.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
        },
        "name": {"type": "string", "minLength": 2},
        "role": {"type": "string", "readOnly": true},
        "billing": {
          "type": "object",
          "readOnly": true,
          "properties": {"plan": {"type": "string"}}
        }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}`

// nodeMessages returns the message texts on the node with this name.
func nodeMessages(t *testing.T, flow map[string]any, name string) []string {
	t.Helper()
	ui, _ := flow["ui"].(map[string]any)
	nodes, _ := ui["nodes"].([]any)
	for _, n := range nodes {
		node, _ := n.(map[string]any)
		attrs, _ := node["attributes"].(map[string]any)
		if attrs["name"] != name {
			continue
		}
		var out []string
		ms, _ := node["messages"].([]any)
		for _, m := range ms {
			msg, _ := m.(map[string]any)
			out = append(out, msg["text"].(string))
		}
		return out
	}
	t.Fatalf("no node %s in %v", name, nodes)
	return nil
}

// The settings flow never lets a user change a read-only trait
// (docs/differences.md); registration let the user pick its first value.
func TestRegistrationRefusesReadOnlyTraits(t *testing.T) {
	env := newAdminEnv(t, withSchema(readOnlyTestSchema))
	flow := env.apiFlow("registration")
	const lockedText = "Can only be changed by an administrator" // the settings flow's message
	for _, tt := range []struct {
		name, body, field string
	}{
		{"json", `{"method":"password","password":"` + pubPassword + `","traits":{"email":"x@example.com","role":"admin"}}`,
			"traits.role"},
		{"flat json key", `{"method":"password","password":"` + pubPassword + `","traits":{"email":"x@example.com"},"traits.role":"admin"}`,
			"traits.role"},
		{"inside a read-only object", `{"method":"password","password":"` + pubPassword + `","traits":{"email":"x@example.com","billing":{"plan":"gold"}}}`,
			"traits.billing.plan"},
		{"form", url.Values{"method": {"password"}, "password": {pubPassword}, "traits.email": {"x@example.com"}, "traits.role": {"admin"}}.Encode(),
			"traits.role"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := env.public(http.MethodPost, "/self-service/registration?flow="+flow, tt.body).Expect(t, http.StatusBadRequest).Obj(t)
			if got := nodeMessages(t, res, tt.field); len(got) != 1 || got[0] != lockedText {
				t.Errorf("messages on %s: %q, want [%q]", tt.field, got, lockedText)
			}
			if got := nodeMessages(t, res, "traits.email"); len(got) != 0 {
				t.Errorf("messages on traits.email: %q", got)
			}
			if n := env.count(); n != 0 {
				t.Fatalf("%d identities stored", n)
			}
		})
	}

	// Without the read-only trait the same flow signs up; the trait is unset.
	res := env.public(http.MethodPost, "/self-service/registration?flow="+flow,
		`{"method":"password","password":"`+pubPassword+`","traits":{"email":"x@example.com","name":"Xavier"}}`).
		Expect(t, http.StatusOK).Obj(t)
	traits := res["identity"].(map[string]any)["traits"].(map[string]any)
	if _, ok := traits["role"]; ok {
		t.Errorf("traits %v have a role", traits)
	}

	// The admin API still sets it.
	id := res["identity"].(map[string]any)["id"].(string)
	env.admin(http.MethodPatch, "/identities/"+id, `[{"op":"add","path":"/traits/role","value":"admin"}]`).Expect(t, http.StatusOK)
}
