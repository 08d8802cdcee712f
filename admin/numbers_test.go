package admin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/jsonpatch"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
)

// numbersTestSchema allows traits it does not name, so any JSON value can
// reach the store as a trait; it has a number trait too.
const numbersTestSchema = `{
  "$id": "https://schemas.example.com/numbers-test.schema.json",
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
        "name": {
          "type": "object",
          "properties": {"first": {"type": "string", "minLength": 2}}
        },
        "age": {"type": "integer"},
        "role": {"type": "string", "readOnly": true}
      },
      "required": ["email"]
    }
  }
}`

const pubPassword = "a long enough secret for the test"

// apiFlow starts an API flow of a kind ("registration", "settings") and
// returns its id; headers go with the request (a session token for settings).
func (e *adminEnv) apiFlow(kind string, headers ...string) string {
	e.t.Helper()
	res := e.public(http.MethodGet, "/self-service/"+kind+"/api", "", headers...).Expect(e.t, http.StatusOK).Obj(e.t)
	id, _ := res["id"].(string)
	if id == "" {
		e.t.Fatalf("no flow id: %v", res)
	}
	return id
}

// register signs up an identity through an API registration flow and
// returns its session token.
func (e *adminEnv) register(traits string) string {
	e.t.Helper()
	flow := e.apiFlow("registration")
	res := e.public(http.MethodPost, "/self-service/registration?flow="+flow,
		`{"method":"password","password":"`+pubPassword+`","traits":`+traits+`}`).Expect(e.t, http.StatusOK).Obj(e.t)
	token, _ := res["session_token"].(string)
	if token == "" {
		e.t.Fatalf("no session token: %v", res)
	}
	return token
}

// expectOutOfRange checks a 400 error envelope naming the number and field.
func expectOutOfRange(t *testing.T, r *testenv.Response, number, field string) {
	t.Helper()
	e := r.ExpectError(t, http.StatusBadRequest, "The number "+number+" at "+field+" is out of range.")
	if d, _ := e["details"].(map[string]any); d["field"] != field {
		t.Errorf("details %v, want the field %s", e["details"], field)
	}
}

func TestReadBodyRefusesNumbersOutOfRange(t *testing.T) {
	for _, tt := range []struct {
		name, body    string
		number, field string // "" when the body is fine
	}{
		{"fine numbers", `{"traits":{"a":[1,-2.5e300,1e-400,123456789012345678901234567890]}}`, "", ""},
		{"a string is no number", `{"traits":{"a":"1e400"}}`, "", ""},
		{"in a trait array", `{"traits":{"email":"o@example.com","zzz":[1e400]}}`, "1e400", "traits.zzz.0"},
		{"nested trait", `{"traits":{"name":{"first":-1e400}}}`, "-1e400", "traits.name.first"},
		{"a flat trait key", `{"traits.age":1E+309}`, "1E+309", "traits.age"},
		{"outside the traits", `{"method":"password","transient_payload":{"x":{"y":[0,[9e999]]}}}`, "9e999", "transient_payload.x.y.1.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			b, err := body.Read(httptest.NewRecorder(), r)
			if tt.number == "" {
				if err != nil || b == nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != http.StatusBadRequest || b != nil {
				t.Fatalf("body %v, error %v; want a 400", b, err)
			}
			if want := "The number " + tt.number + " at " + tt.field + " is out of range."; e.Reason != want {
				t.Errorf("reason %q\nwant   %q", e.Reason, want)
			}
		})
	}
}

// A number that does not fit a float64 once reached the store, and no read
// of the identity (whoami, login, the admin API) worked again; the
// identifier stayed taken.
func TestRegistrationRefusesNumbersOutOfRange(t *testing.T) {
	env := newAdminEnv(t, withSchema(numbersTestSchema))
	flow := env.apiFlow("registration")
	for _, tt := range []struct {
		name, body    string
		number, field string
	}{
		{"unknown trait, in an array",
			`{"method":"password","password":"` + pubPassword + `","traits":{"email":"o@example.com","zzz":[1e400]}}`,
			"1e400", "traits.zzz.0"},
		{"number trait",
			`{"method":"password","password":"` + pubPassword + `","traits":{"email":"o@example.com","age":1e400}}`,
			"1e400", "traits.age"},
		{"transient payload",
			`{"method":"password","password":"` + pubPassword + `","traits":{"email":"o@example.com"},"transient_payload":{"n":-1e400}}`,
			"-1e400", "transient_payload.n"},
		{"form value typed as a number",
			url.Values{"method": {"password"}, "password": {pubPassword}, "traits.email": {"o@example.com"}, "traits.age": {"1e400"}}.Encode(),
			"1e400", "traits.age"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			expectOutOfRange(t, env.public(http.MethodPost, "/self-service/registration?flow="+flow, tt.body), tt.number, tt.field)
			if n := env.count(); n != 0 {
				t.Fatalf("%d identities stored", n)
			}
			// The flow is untouched and still readable.
			env.public(http.MethodGet, "/self-service/registration/flows?id="+flow, "").Expect(t, http.StatusOK)
		})
	}

	// The identifier is free: the same flow signs up normally.
	res := env.public(http.MethodPost, "/self-service/registration?flow="+flow,
		`{"method":"password","password":"`+pubPassword+`","traits":{"email":"o@example.com","age":42,"zzz":[1e300]}}`).
		Expect(t, http.StatusOK).Obj(t)
	token, _ := res["session_token"].(string)
	env.public(http.MethodGet, "/sessions/whoami", "", "X-Session-Token", token).Expect(t, http.StatusOK)
	if l := env.admin(http.MethodGet, "/identities", nil).Expect(t, http.StatusOK).List(t); len(l) != 1 {
		t.Fatalf("admin list: %d identities", len(l))
	}
}

// A failing settings submission keeps what was sent in its flow; a number
// out of range there made the flow unreadable.
func TestSettingsRefusesNumbersOutOfRange(t *testing.T) {
	env := newAdminEnv(t, withSchema(numbersTestSchema))
	token := env.register(`{"email":"o@example.com"}`)
	flow := env.apiFlow("settings", "X-Session-Token", token)
	submit := func(body string) *testenv.Response {
		return env.public(http.MethodPost, "/self-service/settings?flow="+flow, body, "X-Session-Token", token)
	}

	// name.first fails validation too (a number, not a string): before, the
	// failing submission stored the flow with 1e400 in its nodes.
	expectOutOfRange(t, submit(`{"method":"profile","traits":{"email":"o@example.com","name":{"first":1e400}}}`),
		"1e400", "traits.name.first")
	expectOutOfRange(t, submit(url.Values{"method": {"profile"}, "traits.email": {"o@example.com"}, "traits.age": {"-1e400"}}.Encode()),
		"-1e400", "traits.age")
	expectOutOfRange(t, submit(`{"method":"profile","traits":{"email":"o@example.com","zzz":{"a":[1e400]}}}`),
		"1e400", "traits.zzz.a.0")

	env.public(http.MethodGet, "/self-service/settings/flows?id="+flow, "", "X-Session-Token", token).Expect(t, http.StatusOK)
	env.public(http.MethodGet, "/sessions/whoami", "", "X-Session-Token", token).Expect(t, http.StatusOK)
	// The flow still works.
	submit(`{"method":"profile","traits":{"email":"o@example.com","age":7}}`).Expect(t, http.StatusOK)
	env.admin(http.MethodGet, "/identities", nil).Expect(t, http.StatusOK)
}

// The admin API reads its bodies with its own decoder; the same rule holds
// for POST, PUT and PATCH, traits and metadata alike.
func TestAdminRefusesNumbersOutOfRange(t *testing.T) {
	env := newAdminEnv(t)
	expectOutOfRange(t, env.admin(http.MethodPost, "/identities", `{"traits":{"email":"a@example.com","age":1e400}}`),
		"1e400", "traits.age")
	expectOutOfRange(t, env.admin(http.MethodPost, "/identities", `{"traits":{"email":"a@example.com"},"metadata_public":{"n":[1e400]}}`),
		"1e400", "metadata_public.n.0")

	created := env.create(map[string]any{"email": "a@example.com", "age": 3})
	id := created["id"].(string)
	expectOutOfRange(t, env.admin(http.MethodPut, "/identities/"+id, `{"traits":{"email":"a@example.com","age":-1e400}}`),
		"-1e400", "traits.age")
	expectOutOfRange(t, env.admin(http.MethodPut, "/identities/"+id, `{"traits":{"email":"a@example.com"},"metadata_admin":{"n":1e400}}`),
		"1e400", "metadata_admin.n")
	expectOutOfRange(t, env.admin(http.MethodPatch, "/identities/"+id, `[{"op":"replace","path":"/traits/age","value":1e400}]`),
		"1e400", "0.value")
	expectOutOfRange(t, env.admin(http.MethodPatch, "/identities/"+id, `[{"op":"add","path":"/metadata_public","value":{"n":[1e400]}}]`),
		"1e400", "0.value.n.0")

	got := env.admin(http.MethodGet, "/identities/"+id, nil).Expect(t, http.StatusOK).Obj(t)
	if traits := got["traits"].(map[string]any); traits["age"] != 3.0 {
		t.Errorf("traits changed: %v", traits)
	}
	if l := env.admin(http.MethodGet, "/identities", nil).Expect(t, http.StatusOK).List(t); len(l) != 1 {
		t.Errorf("list: %d identities", len(l))
	}
	// Big numbers that fit are fine.
	env.admin(http.MethodPatch, "/identities/"+id, `[{"op":"replace","path":"/traits/age","value":1e300}]`).Expect(t, http.StatusOK)
	env.admin(http.MethodDelete, "/identities/"+id, nil).Expect(t, http.StatusNoContent)
}

func TestParsePatchRefusesNumbersOutOfRange(t *testing.T) {
	_, err := jsonpatch.Parse([]byte(`[{"op":"test","path":"/a","value":1},{"op":"add","path":"/b","value":{"c":-1e400}}]`))
	var pe *jsonpatch.Error
	if !errors.As(err, &pe) || pe.Msg != "the number -1e400 at 1.value.c is out of range" {
		t.Fatalf("error %v", err)
	}
	if _, err := jsonpatch.Parse([]byte(`[{"op":"add","path":"/b","value":1e-400}]`)); err != nil {
		t.Fatalf("a number that fits: %v", err)
	}
}
