package integration

import (
	"strings"
	"testing"
)

// badInputSchema allows traits it does not name and has a read-only trait.
const badInputSchema = `{
  "$id": "https://example.org/bad-input.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "email": {
      "type": "string",
      "format": "email",
      "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
    },
    "role": {"type": "string", "readOnly": true}
  },
  "required": ["email"]
}`

// Through Caddy and Redis: a number that does not fit a float64 is refused
// before anything is stored (it once made the identity unreadable, whoami and
// the admin API answered 503, and the identifier stayed taken), and a
// read-only trait cannot be picked at registration.
func TestBadNumbersAndReadOnlyAtRegistration(t *testing.T) {
	s := startSiteWithSchema(t, badInputSchema, "")
	c := browser(t)
	const password = "a long enough secret"

	newFlow := func() string {
		t.Helper()
		flow := do(t, c, "GET", s.kratos()+"/self-service/registration/api", nil)
		wantStatus(t, flow, 200)
		return get(flow.json(t), "ui", "action").(string)
	}

	t.Run("1e400 is refused and nothing is stored", func(t *testing.T) {
		action := newFlow()
		res := do(t, c, "POST", action, `{"method":"password","password":"`+password+`","traits":{"email":"o@example.com","zzz":[1e400]}}`)
		wantStatus(t, res, 400)
		reason, _ := get(res.json(t), "error", "reason").(string)
		if reason != "The number 1e400 at traits.zzz.0 is out of range." {
			t.Fatalf("reason %q\n%s", reason, res.body)
		}
		if code := get(res.json(t), "error", "code"); code != float64(400) {
			t.Fatalf("error.code %v", code)
		}

		list := do(t, c, "GET", s.admin+"/admin/identities", nil)
		wantStatus(t, list, 200)
		if strings.TrimSpace(string(list.body)) != "[]" {
			t.Fatalf("identities stored: %s", list.body)
		}

		// The identifier is free, and the same flow still works.
		ok := do(t, c, "POST", action, `{"method":"password","password":"`+password+`","traits":{"email":"o@example.com","zzz":[1e300]}}`)
		wantStatus(t, ok, 200)
		token, _ := ok.json(t)["session_token"].(string)
		wantStatus(t, do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", token), 200)
		wantStatus(t, do(t, c, "GET", s.admin+"/admin/identities", nil), 200)
	})

	t.Run("a read-only trait is refused", func(t *testing.T) {
		action := newFlow()
		res := do(t, c, "POST", action, `{"method":"password","password":"`+password+`","traits":{"email":"x@example.com","role":"admin"}}`)
		wantStatus(t, res, 400)
		flow := res.json(t)
		if text := get(node(flow, "traits.role"), "messages", 0, "text"); text != "Can only be changed by an administrator" {
			t.Fatalf("traits.role message %v\n%s", text, res.body)
		}
		if get(flow, "state") == "success" {
			t.Fatalf("flow state success: %s", res.body)
		}
		list := do(t, c, "GET", s.admin+"/admin/identities?credentials_identifier=x@example.com", nil)
		wantStatus(t, list, 200)
		if strings.TrimSpace(string(list.body)) != "[]" {
			t.Fatalf("identity stored: %s", list.body)
		}

		// Without the role the registration goes through, and no role is set.
		ok := do(t, c, "POST", action, `{"method":"password","password":"`+password+`","traits":{"email":"x@example.com"}}`)
		wantStatus(t, ok, 200)
		if role := get(ok.json(t), "identity", "traits", "role"); role != nil {
			t.Fatalf("role %v", role)
		}
	})
}
