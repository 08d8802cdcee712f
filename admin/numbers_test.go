package admin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/jsonpatch"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
	"github.com/seed06f30684/caddy-kratos/memstore"
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

// pubEnv drives the public API as an API client (no cookies) and the admin
// API, on a memory store.
type pubEnv struct {
	t     *testing.T
	s     *flows.Service
	store identity.Store
}

func newPubEnv(t *testing.T, schemaJSON string) *pubEnv {
	t.Helper()
	sch := testenv.Schema(t, schemaJSON)
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	store := memstore.NewWithClock(clock.Now)
	s, err := flows.New(flows.Config{Schema: sch, Store: store, PasswordCost: 4, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &pubEnv{t: t, s: s, store: store}
}

// public sends a request to ServePublic. A body starting with "{" is sent as
// JSON, any other as a form; headers are name, value pairs.
func (e *pubEnv) public(method, target, body string, headers ...string) *adminResp {
	e.t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, "http://example.com"+flows.DefaultPublicPrefix+target, nil)
	} else {
		r = httptest.NewRequest(method, "http://example.com"+flows.DefaultPublicPrefix+target, strings.NewReader(body))
		if strings.HasPrefix(body, "{") {
			r.Header.Set("Content-Type", "application/json")
		} else {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	r.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	u, _ := url.Parse(target)
	e.s.ServePublic(w, r, u.Path)
	return &adminResp{code: w.Code, header: w.Header(), raw: w.Body.Bytes()}
}

// admin sends a request to ServeAdmin (see adminEnv.do).
func (e *pubEnv) admin(method, target string, body any, headers ...string) *adminResp {
	e.t.Helper()
	return (&adminEnv{t: e.t, s: e.s, api: New(e.s), store: e.store}).do(method, target, body, headers...)
}

// apiFlow starts an API flow of a kind ("registration", "settings") and
// returns its id; headers go with the request (a session token for settings).
func (e *pubEnv) apiFlow(kind string, headers ...string) string {
	e.t.Helper()
	res := e.public(http.MethodGet, "/self-service/"+kind+"/api", "", headers...).expect(e.t, http.StatusOK).obj(e.t)
	id, _ := res["id"].(string)
	if id == "" {
		e.t.Fatalf("no flow id: %v", res)
	}
	return id
}

// register signs up an identity through an API registration flow and
// returns its session token.
func (e *pubEnv) register(traits string) string {
	e.t.Helper()
	flow := e.apiFlow("registration")
	res := e.public(http.MethodPost, "/self-service/registration?flow="+flow,
		`{"method":"password","password":"`+pubPassword+`","traits":`+traits+`}`).expect(e.t, http.StatusOK).obj(e.t)
	token, _ := res["session_token"].(string)
	if token == "" {
		e.t.Fatalf("no session token: %v", res)
	}
	return token
}

// identityCount counts the stored identities; every record must decode.
func (e *pubEnv) identityCount() int {
	e.t.Helper()
	list, _, err := e.store.ListIdentities(context.Background(), "", 1000)
	if err != nil {
		e.t.Fatalf("list identities: %v", err)
	}
	return len(list)
}

// expectOutOfRange checks a 400 error envelope naming the number and field.
func (r *adminResp) expectOutOfRange(t *testing.T, number, field string) {
	t.Helper()
	e := r.expectError(t, http.StatusBadRequest, "The number "+number+" at "+field+" is out of range.")
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
	env := newPubEnv(t, numbersTestSchema)
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
			env.public(http.MethodPost, "/self-service/registration?flow="+flow, tt.body).expectOutOfRange(t, tt.number, tt.field)
			if n := env.identityCount(); n != 0 {
				t.Fatalf("%d identities stored", n)
			}
			// The flow is untouched and still readable.
			env.public(http.MethodGet, "/self-service/registration/flows?id="+flow, "").expect(t, http.StatusOK)
		})
	}

	// The identifier is free: the same flow signs up normally.
	res := env.public(http.MethodPost, "/self-service/registration?flow="+flow,
		`{"method":"password","password":"`+pubPassword+`","traits":{"email":"o@example.com","age":42,"zzz":[1e300]}}`).
		expect(t, http.StatusOK).obj(t)
	token, _ := res["session_token"].(string)
	env.public(http.MethodGet, "/sessions/whoami", "", "X-Session-Token", token).expect(t, http.StatusOK)
	if l := env.admin(http.MethodGet, "/identities", nil).expect(t, http.StatusOK).list(t); len(l) != 1 {
		t.Fatalf("admin list: %d identities", len(l))
	}
}

// A failing settings submission keeps what was sent in its flow; a number
// out of range there made the flow unreadable.
func TestSettingsRefusesNumbersOutOfRange(t *testing.T) {
	env := newPubEnv(t, numbersTestSchema)
	token := env.register(`{"email":"o@example.com"}`)
	flow := env.apiFlow("settings", "X-Session-Token", token)
	submit := func(body string) *adminResp {
		return env.public(http.MethodPost, "/self-service/settings?flow="+flow, body, "X-Session-Token", token)
	}

	// name.first fails validation too (a number, not a string): before, the
	// failing submission stored the flow with 1e400 in its nodes.
	submit(`{"method":"profile","traits":{"email":"o@example.com","name":{"first":1e400}}}`).
		expectOutOfRange(t, "1e400", "traits.name.first")
	submit(url.Values{"method": {"profile"}, "traits.email": {"o@example.com"}, "traits.age": {"-1e400"}}.Encode()).
		expectOutOfRange(t, "-1e400", "traits.age")
	submit(`{"method":"profile","traits":{"email":"o@example.com","zzz":{"a":[1e400]}}}`).
		expectOutOfRange(t, "1e400", "traits.zzz.a.0")

	env.public(http.MethodGet, "/self-service/settings/flows?id="+flow, "", "X-Session-Token", token).expect(t, http.StatusOK)
	env.public(http.MethodGet, "/sessions/whoami", "", "X-Session-Token", token).expect(t, http.StatusOK)
	// The flow still works.
	submit(`{"method":"profile","traits":{"email":"o@example.com","age":7}}`).expect(t, http.StatusOK)
	env.admin(http.MethodGet, "/identities", nil).expect(t, http.StatusOK)
}

// The admin API reads its bodies with its own decoder; the same rule holds
// for POST, PUT and PATCH, traits and metadata alike.
func TestAdminRefusesNumbersOutOfRange(t *testing.T) {
	env := newAdminEnv(t)
	env.do(http.MethodPost, "/identities", `{"traits":{"email":"a@example.com","age":1e400}}`).
		expectOutOfRange(t, "1e400", "traits.age")
	env.do(http.MethodPost, "/identities", `{"traits":{"email":"a@example.com"},"metadata_public":{"n":[1e400]}}`).
		expectOutOfRange(t, "1e400", "metadata_public.n.0")

	created := env.create(map[string]any{"email": "a@example.com", "age": 3})
	id := created["id"].(string)
	env.do(http.MethodPut, "/identities/"+id, `{"traits":{"email":"a@example.com","age":-1e400}}`).
		expectOutOfRange(t, "-1e400", "traits.age")
	env.do(http.MethodPut, "/identities/"+id, `{"traits":{"email":"a@example.com"},"metadata_admin":{"n":1e400}}`).
		expectOutOfRange(t, "1e400", "metadata_admin.n")
	env.do(http.MethodPatch, "/identities/"+id, `[{"op":"replace","path":"/traits/age","value":1e400}]`).
		expectOutOfRange(t, "1e400", "0.value")
	env.do(http.MethodPatch, "/identities/"+id, `[{"op":"add","path":"/metadata_public","value":{"n":[1e400]}}]`).
		expectOutOfRange(t, "1e400", "0.value.n.0")

	got := env.do(http.MethodGet, "/identities/"+id, nil).expect(t, http.StatusOK).obj(t)
	if traits := got["traits"].(map[string]any); traits["age"] != 3.0 {
		t.Errorf("traits changed: %v", traits)
	}
	if l := env.do(http.MethodGet, "/identities", nil).expect(t, http.StatusOK).list(t); len(l) != 1 {
		t.Errorf("list: %d identities", len(l))
	}
	// Big numbers that fit are fine.
	env.do(http.MethodPatch, "/identities/"+id, `[{"op":"replace","path":"/traits/age","value":1e300}]`).expect(t, http.StatusOK)
	env.do(http.MethodDelete, "/identities/"+id, nil).expect(t, http.StatusNoContent)
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
