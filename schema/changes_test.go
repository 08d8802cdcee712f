package schema

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCompare(t *testing.T) {
	const base = `{"email":"alice@example.org","name":{"first":"Alice"},"username":"alice","backup_email":"b@example.org"}`
	tests := []struct {
		name     string
		old, new string
		want     Changes
	}{
		{
			name: "nothing changed",
			old:  base, new: base,
		},
		{
			name: "an unprotected trait",
			old:  base,
			new:  `{"email":"alice@example.org","name":{"first":"Alicia"},"username":"alice","backup_email":"b@example.org"}`,
		},
		{
			name: "identifier changes only in case",
			old:  base,
			new:  `{"email":"Alice@Example.ORG","name":{"first":"Alice"},"username":"ALICE","backup_email":"B@example.org"}`,
		},
		{
			name: "email with verification and recovery",
			old:  base,
			new:  `{"email":"alice@example.com","name":{"first":"Alice"},"username":"alice","backup_email":"b@example.org"}`,
			want: Changes{Identifiers: true, VerifiableAddresses: true, RecoveryAddresses: true},
		},
		{
			name: "identifier only",
			old:  base,
			new:  `{"email":"alice@example.org","name":{"first":"Alice"},"username":"alice2","backup_email":"b@example.org"}`,
			want: Changes{Identifiers: true},
		},
		{
			name: "recovery only",
			old:  base,
			new:  `{"email":"alice@example.org","name":{"first":"Alice"},"username":"alice","backup_email":"c@example.org"}`,
			want: Changes{RecoveryAddresses: true},
		},
		{
			name: "recovery address removed",
			old:  base,
			new:  `{"email":"alice@example.org","name":{"first":"Alice"},"username":"alice"}`,
			want: Changes{RecoveryAddresses: true},
		},
	}
	s := testSchema(t, "modern")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Compare(decode(t, tt.old), decode(t, tt.new))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			wantProtected := tt.want.Identifiers || tt.want.VerifiableAddresses || tt.want.RecoveryAddresses
			if got.Protected() != wantProtected {
				t.Errorf("Protected() = %v", got.Protected())
			}
		})
	}
}

func TestCompareReadOnly(t *testing.T) {
	s := testSchema(t, "v2020")
	const base = `{"email":"a@example.org","plan":"free","address":{"city":"Berlin"},"age":30}`
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"unchanged", base, base, nil},
		{"other traits", base, `{"email":"a@example.org","plan":"free","address":{"city":"Berlin"},"age":31}`, nil},
		{"changed", base, `{"email":"a@example.org","plan":"pro","address":{"city":"Berlin"},"age":30}`, []string{"traits.plan"}},
		{"removed", base, `{"email":"a@example.org","address":{"city":"Berlin"}}`, []string{"traits.plan"}},
		{"added", `{"email":"a@example.org"}`, `{"email":"a@example.org","plan":"free"}`, []string{"traits.plan"}},
		{"inside a readOnly object", base, `{"email":"a@example.org","plan":"pro","address":{"city":"Paris","zip":"75001"}}`,
			[]string{"traits.plan", "traits.address.city", "traits.address.zip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Compare(decode(t, tt.old), decode(t, tt.new))
			if !reflect.DeepEqual(got.ReadOnly, tt.want) {
				t.Errorf("ReadOnly = %q, want %q", got.ReadOnly, tt.want)
			}
			if got.Protected() {
				t.Errorf("readOnly changes are not protected changes: %+v", got)
			}
		})
	}
}

func TestCompareReadOnlyNumbersByValue(t *testing.T) {
	s := inlineSchema(t, `{"type":"object","properties":{"level":{"type":"integer","readOnly":true},
		"meta":{"type":"array","readOnly":true}}}`)
	old := map[string]any{"level": json.Number("3"), "meta": []any{json.Number("1.0"), "x"}}
	same := map[string]any{"level": 3.0, "meta": []any{1, "x"}}
	if got := s.Compare(old, same); got.ReadOnly != nil {
		t.Errorf("same values: %+v", got)
	}
	changed := map[string]any{"level": 4.0, "meta": []any{1, "y"}}
	if got := s.Compare(old, changed); !reflect.DeepEqual(got.ReadOnly, []string{"traits.level", "traits.meta"}) {
		t.Errorf("changed values: %+v", got)
	}
}

func TestIdentifiers(t *testing.T) {
	s := testSchema(t, "v2020")
	traits := decode(t, `{"email":"B@Example.org","emails":["a@example.org","b@example.ORG","",3,"c@example.org"]}`)
	want := []string{"a@example.org", "b@example.org", "c@example.org"}
	if got := s.Identifiers(traits); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := s.Identifiers(map[string]any{}); got != nil {
		t.Errorf("no traits: %q", got)
	}
	if got := testSchema(t, "seed").Identifiers(decode(t, `{"email":"FooBar@ory.sh"}`)); !reflect.DeepEqual(got, []string{"foobar@ory.sh"}) {
		t.Errorf("seed: %q", got)
	}
	if got := testSchema(t, "modern").Identifiers(decode(t, `{"email":"Alice@Example.org","username":"Alice"}`)); !reflect.DeepEqual(got, []string{"alice", "alice@example.org"}) {
		t.Errorf("modern: %q", got)
	}
}

func TestAddresses(t *testing.T) {
	s := testSchema(t, "v2020")
	traits := decode(t, `{"email":"Z@Example.org","emails":["B@example.org","a@example.org","b@example.org"],"phone":"+49 123 456"}`)
	verifiable, recovery := s.Addresses(traits)
	wantV := []Address{{"z@example.org", "email"}, {"+49 123 456", "sms"}}
	wantR := []Address{{"a@example.org", "email"}, {"b@example.org", "email"}, {"+49 123 456", "sms"}}
	if !reflect.DeepEqual(verifiable, wantV) {
		t.Errorf("verifiable = %+v, want %+v", verifiable, wantV)
	}
	if !reflect.DeepEqual(recovery, wantR) {
		t.Errorf("recovery = %+v, want %+v", recovery, wantR)
	}
	v, r := s.Addresses(map[string]any{})
	if v != nil || r != nil {
		t.Errorf("no traits: %+v %+v", v, r)
	}
}

func TestChangedFields(t *testing.T) {
	s := testSchema(t, "seed") // email, name.first, name.last
	old := decode(t, `{"email":"ada@example.com","name":{"first":"Ada","last":"King"}}`)
	changed := decode(t, `{"email":"ada@example.com","name":{"first":"Augusta"}}`)
	if got := s.ChangedFields(old, changed); !reflect.DeepEqual(got, []string{"traits.name.first", "traits.name.last"}) {
		t.Errorf("changed %v", got)
	}
	if got := s.ChangedFields(old, old); got == nil || len(got) != 0 {
		t.Errorf("nothing changed: %#v", got)
	}
}
