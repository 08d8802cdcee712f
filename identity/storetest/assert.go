package storetest

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// jsonOf returns v's JSON, the form every store keeps and compares by.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return string(b)
}

// wantJSON fails the test unless got's JSON is want.
func wantJSON(t *testing.T, what, want string, got any) {
	t.Helper()
	if g := jsonOf(t, got); g != want {
		t.Errorf("%s differs:\n got %s\nwant %s", what, g, want)
	}
}

// wantErr fails the test unless errors.Is(err, target); a nil target wants
// no error.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// mustCreate creates identities or fails the test.
func mustCreate(t *testing.T, st identity.Store, ids ...*identity.Identity) {
	t.Helper()
	for _, id := range ids {
		if err := st.CreateIdentity(t.Context(), id); err != nil {
			t.Fatalf("CreateIdentity(%v): %v", id.Identifiers(), err)
		}
	}
}

// mustCreateSession creates sessions or fails the test.
func mustCreateSession(t *testing.T, st identity.Store, ss ...*identity.Session) {
	t.Helper()
	for _, s := range ss {
		if err := st.CreateSession(t.Context(), s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
}

// mustGet returns the stored identity or fails the test.
func mustGet(t *testing.T, st identity.Store, id string) *identity.Identity {
	t.Helper()
	got, err := st.GetIdentity(t.Context(), id)
	if err != nil {
		t.Fatalf("GetIdentity(%s): %v", id, err)
	}
	return got
}

// wantOwner fails the test unless identifier belongs to the identity with
// id owner ("" wants nobody).
func wantOwner(t *testing.T, st identity.Store, identifier, owner string) {
	t.Helper()
	got, err := st.FindIdentityByIdentifier(t.Context(), identifier)
	switch {
	case owner == "" && !errors.Is(err, identity.ErrNotFound):
		t.Errorf("FindIdentityByIdentifier(%q) = %v, %v; want ErrNotFound", identifier, got, err)
	case owner != "" && err != nil:
		t.Errorf("FindIdentityByIdentifier(%q): %v; want %s", identifier, err, owner)
	case owner != "" && got.ID != owner:
		t.Errorf("FindIdentityByIdentifier(%q) = %s; want %s", identifier, got.ID, owner)
	}
}

// sessionIDs returns the ids of ss in order.
func sessionIDs(ss []*identity.Session) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}
