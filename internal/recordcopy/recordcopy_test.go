package recordcopy

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/text"
)

// jsonRoundTrip is what the stores did before: json.Marshal, json.Unmarshal.
func jsonRoundTrip[T any](t *testing.T, v *T) *T {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameAsRoundTrip checks that Clone gives what a JSON round trip gives:
// the same JSON and, in Go, the same values but for the times' locations.
func sameAsRoundTrip[T any](t *testing.T, v *T) *T {
	t.Helper()
	got, err := Clone(v)
	if err != nil {
		t.Fatal(err)
	}
	want := jsonRoundTrip(t, v)
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("Clone(%T) is\n%s\nwant (a JSON round trip)\n%s", v, gotJSON, wantJSON)
	}
	if !reflect.DeepEqual(jsonRoundTrip(t, got), want) {
		t.Errorf("Clone(%T) differs from a JSON round trip in Go values:\n%#v\nwant\n%#v", v, got, want)
	}
	return got
}

func TestCloneIsAJSONRoundTrip(t *testing.T) {
	now := time.Now() // with a monotonic reading, in Local
	verified := now.Add(time.Minute)
	id := &identity.Identity{
		ID: identity.NewID(), SchemaID: "default", State: identity.IdentityActive, StateChangedAt: now,
		Traits: map[string]any{
			"email": "a@example.com", "age": json.Number("36"), "big": json.Number("9007199254740993"),
			"exp": json.Number("1e3"), "int": 7, "tags": []string{"a", "b"}, "bad": "x\xffy",
			"nested": map[string]any{"list": []any{json.Number("-9007199254740993"), 2.5, nil, true}},
			"empty":  map[string]any{},
		},
		MetadataPublic:      json.RawMessage(`{ "a" : [1, 2] }`),
		VerifiableAddresses: []identity.VerifiableAddress{{ID: "v", Value: "a@example.com", VerifiedAt: &verified, CreatedAt: now}},
		RecoveryAddresses:   []identity.RecoveryAddress{},
		Password:            &identity.PasswordCredential{Identifiers: []string{"a@example.com"}, HashedPassword: "$2a$..."},
		Version:             3, CreatedAt: now, UpdatedAt: now,
	}
	got := sameAsRoundTrip(t, id)
	if want := jsonRoundTrip(t, id).Traits; !reflect.DeepEqual(got.Traits, want) {
		t.Errorf("traits are\n%#v\nwant (a JSON round trip)\n%#v", got.Traits, want)
	}
	if n, ok := got.Traits["big"].(json.Number); !ok || n != "9007199254740993" {
		t.Errorf("big is %T %v, want json.Number 9007199254740993", got.Traits["big"], got.Traits["big"])
	}

	// No aliasing: changing the copy leaves the original alone.
	got.Traits["nested"].(map[string]any)["list"].([]any)[1] = 99.0
	got.VerifiableAddresses[0].Value = "changed"
	*got.VerifiableAddresses[0].VerifiedAt = time.Time{}
	got.Password.Identifiers[0] = "changed"
	got.MetadataPublic[0] = ' '
	if id.Traits["nested"].(map[string]any)["list"].([]any)[1] != 2.5 || id.VerifiableAddresses[0].Value != "a@example.com" ||
		!id.VerifiableAddresses[0].VerifiedAt.Equal(verified) || id.Password.Identifiers[0] != "a@example.com" || id.MetadataPublic[0] != '{' {
		t.Error("changing the copy changed the original")
	}

	sameAsRoundTrip(t, &identity.Identity{ID: "x"}) // nil traits, slices, metadata

	sameAsRoundTrip(t, &identity.Session{
		ID: "s", IdentityID: "i", TokenHash: "h", Active: true, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		AuthenticationMethods: []identity.AuthenticationMethod{{Method: "password", AAL: identity.AAL1, CompletedAt: now}},
		Devices:               []identity.Device{}, // omitempty: JSON drops it
	})

	label := text.Message{ID: 1070002, Text: "E-Mail", Type: text.Info, Context: map[string]any{"min_length": 5, "n": json.Number("9007199254740993")}}
	sameAsRoundTrip(t, &identity.Flow{
		ID: "f", Kind: identity.KindSettings, Type: identity.TypeAPI, IssuedAt: now, ExpiresAt: now,
		UI: identity.UI{Action: "https://x/", Method: "POST", Nodes: []identity.Node{
			{Type: "input", Group: "profile", Attributes: identity.InputAttributes{Name: "traits.n", Value: json.Number("12")}, Meta: identity.Meta{Label: &label}},
			{Type: "input", Group: "default", Attributes: identity.InputAttributes{Name: "csrf_token", Value: ""}},
		}, Messages: []text.Message{}},
		Error: json.RawMessage(` {"code": 400} `),
	})
}

func TestCloneRefusesWhatJSONRefuses(t *testing.T) {
	for what, bad := range map[string]*identity.Identity{
		"invalid metadata": {ID: "x", MetadataPublic: json.RawMessage(`{not json`)},
		"NaN in traits":    {ID: "x", Traits: map[string]any{"n": math.NaN()}},
		"infinity deeper":  {ID: "x", Traits: map[string]any{"a": []any{math.Inf(1)}}},
		"year 10000":       {ID: "x", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := json.Marshal(bad); err == nil {
			t.Fatalf("%s: json.Marshal took it", what)
		}
		if _, err := Clone(bad); err == nil {
			t.Errorf("%s: Clone took it", what)
		}
	}
}
