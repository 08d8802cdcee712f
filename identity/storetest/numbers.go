package storetest

import (
	"encoding/json"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testTraitNumbers: numbers in traits come back as they were stored.
// Integers beyond 2^53, which a float64 cannot always hold, come back
// exactly (as json.Number); ordinary numbers come back as the float64
// that encoding/json gives, on every read path.
func (s *suite) testTraitNumbers(t *testing.T) {
	st := s.newStore(t)
	id := s.identity("numbers@example.com")
	id.Traits["age"] = json.Number("36")
	id.Traits["big"] = json.Number("9007199254740993")
	id.Traits["nested"] = map[string]any{
		"neg":  json.Number("-9007199254740993"),
		"huge": json.Number("123456789012345678901234567890"),
		"list": []any{json.Number("9007199254740992"), json.Number("18014398509481985"), 2.5, json.Number("1e3")},
	}
	mustCreate(t, st, id)
	const want = `{"age":36,"big":9007199254740993,"email":"numbers@example.com","name":{"first":"Ada","last":"Lovelace"},` +
		`"nested":{"huge":123456789012345678901234567890,"list":[9007199254740992,18014398509481985,2.5,1000],"neg":-9007199254740993},` +
		`"tags":["a","b"]}`

	check := func(what string, got *identity.Identity) {
		t.Helper()
		wantJSON(t, what+": traits", want, got.Traits)
		if _, ok := got.Traits["age"].(float64); !ok {
			t.Errorf("%s: age is %T, want float64 as before", what, got.Traits["age"])
		}
		if n, ok := got.Traits["big"].(json.Number); !ok || n != "9007199254740993" {
			t.Errorf("%s: big is %T %v, want json.Number 9007199254740993", what, got.Traits["big"], got.Traits["big"])
		}
	}
	check("GetIdentity", mustGet(t, st, id.ID))
	found, err := st.FindIdentityByIdentifier(t.Context(), "numbers@example.com")
	wantErr(t, "FindIdentityByIdentifier", err, nil)
	if found != nil {
		check("FindIdentityByIdentifier", found)
	}
	list, _, err := st.ListIdentities(t.Context(), "", 10)
	wantErr(t, "ListIdentities", err, nil)
	if len(list) == 1 {
		check("ListIdentities", list[0])
	} else {
		t.Errorf("ListIdentities: %d identities, want 1", len(list))
	}
	sess, token := s.session(id.ID, s.now())
	mustCreateSession(t, st, sess)
	_, withSession, err := st.GetSession(t.Context(), token)
	wantErr(t, "GetSession", err, nil)
	if withSession != nil {
		check("GetSession", withSession)
	}
}
