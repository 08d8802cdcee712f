package redisstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testClaims covers the identifier claim protocol where the contract suite
// cannot: claims left behind by a crash, and writes that come too late.
func testClaims(t *testing.T, newStore func(t *testing.T) *Store) {
	old := func() int64 { return time.Now().Add(-2 * claimLease).UnixMilli() }
	young := func() int64 { return time.Now().UnixMilli() }
	cases := []struct {
		name string
		// claimant returns the identity id a left-behind claim names; it may
		// create that identity first.
		claimant func(t *testing.T, s *Store) string
		at       func() int64 // the claim's time
		want     error        // of creating another identity with the identifier
	}{
		{name: "old claim of a missing identity", claimant: missingIdentity, at: old},
		{name: "old claim of an identity without the identifier", claimant: identityWithout, at: old},
		{name: "young claim of a missing identity", claimant: missingIdentity, at: young, want: identity.ErrDuplicateIdentifier},
		{name: "old claim of an identity that holds it", claimant: identityWith, at: old, want: identity.ErrDuplicateIdentifier},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			owner := tc.claimant(t, s)
			value := fmt.Sprintf("%d:stale:%s", tc.at(), owner)
			if err := s.client.Set(ctx, s.keys.identifier("x@example.com"), value, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if got, err := s.FindIdentityByIdentifier(ctx, "x@example.com"); tc.want == nil && !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("FindIdentityByIdentifier(stale claim) = %v, %v; want ErrNotFound", got, err)
			}

			id := &identity.Identity{ID: identity.NewID(), Password: &identity.PasswordCredential{Identifiers: []string{"x@example.com"}}}
			err := s.CreateIdentity(ctx, id)
			if !errors.Is(err, tc.want) {
				t.Fatalf("CreateIdentity = %v, want %v", err, tc.want)
			}
			want := owner
			if tc.want == nil {
				want = id.ID
			}
			if got, _ := s.client.Get(ctx, s.keys.identifier("x@example.com")).Result(); !claimedBy(got, want) {
				t.Errorf("claim = %q, want one of %s", got, want)
			}
		})
	}

	t.Run("late write", func(t *testing.T) {
		s := newStore(t)
		status, err := writeIdentityScript.Run(t.Context(), s.client, []string{s.keys.identity(identity.NewID())},
			0, "{}", 1, "", 0).Text()
		if err != nil || status != "late" {
			t.Errorf("write past its deadline = %q, %v; want late", status, err)
		}
	})
}

// claimedBy reports whether a claim value names the identity.
func claimedBy(value, identityID string) bool {
	_, holder, ok := parseClaimValue(value)
	return ok && holder == identityID
}

// missingIdentity returns the id of an identity that does not exist.
func missingIdentity(*testing.T, *Store) string { return identity.NewID() }

// identityWithout creates an identity that does not hold x@example.com.
func identityWithout(t *testing.T, s *Store) string {
	id := &identity.Identity{ID: identity.NewID(), Password: &identity.PasswordCredential{Identifiers: []string{"y@example.com"}}}
	if err := s.CreateIdentity(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	return id.ID
}

// identityWith creates an identity that holds x@example.com.
func identityWith(t *testing.T, s *Store) string {
	id := &identity.Identity{ID: identity.NewID(), Password: &identity.PasswordCredential{Identifiers: []string{"x@example.com"}}}
	if err := s.CreateIdentity(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	return id.ID
}
