package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

func (s *suite) testRevokeSessions(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice, bob := s.identity(), s.identity()
	mustCreate(t, st, alice, bob)
	now := s.now()
	current, _ := s.session(alice.ID, now)
	other, otherToken := s.session(alice.ID, now.Add(-time.Minute))
	revoked, _ := s.session(alice.ID, now.Add(-2*time.Minute))
	revoked.Active = false
	bare, _ := s.session(alice.ID, now.Add(-3*time.Minute))
	bare.Devices, bare.AuthenticationMethods = nil, []identity.AuthenticationMethod{}
	bobs, _ := s.session(bob.ID, now)
	mustCreateSession(t, st, current, other, revoked, bare, bobs)

	n, err := st.RevokeSessions(ctx, alice.ID, current.ID)
	if err != nil || n != 3 {
		t.Fatalf("RevokeSessions = %d, %v; want 3 (every other session, revoked already or not)", n, err)
	}
	got, _, err := st.GetSession(ctx, otherToken)
	wantErr(t, "GetSession(revoked)", err, nil)
	other.Active = false
	wantJSON(t, "revoked session", jsonOf(t, other), got)
	if !got.ExpiresAt.Equal(other.ExpiresAt) {
		t.Errorf("revoked session expires at %v, want %v as before", got.ExpiresAt, other.ExpiresAt)
	}
	byID, err := st.GetSessionByID(ctx, bare.ID)
	wantErr(t, "GetSessionByID(revoked, no devices)", err, nil)
	bare.Active = false
	wantJSON(t, "revoked session without devices", jsonOf(t, bare), byID)
	for _, keep := range []*identity.Session{current, bobs} {
		got, err := st.GetSessionByID(ctx, keep.ID)
		if err != nil || !got.Active {
			t.Errorf("session %s: %v, active %v; want it untouched", keep.ID, err, got != nil && got.Active)
		}
	}
	n, err = st.RevokeSessions(ctx, identity.NewID(), "")
	if err != nil || n != 0 {
		t.Errorf("RevokeSessions(unknown identity) = %d, %v; want 0", n, err)
	}
}

// listAll pages through ListAllSessions with pages of size, and returns the
// session ids and the identity ids that came with them.
func listAll(t *testing.T, st identity.Store, size int) (sessions, identities []string) {
	t.Helper()
	after := ""
	for range 100 {
		page, next, err := st.ListAllSessions(t.Context(), after, size)
		wantErr(t, "ListAllSessions", err, nil)
		if len(page) > size {
			t.Fatalf("ListAllSessions(limit %d) returned %d", size, len(page))
		}
		for _, p := range page {
			sessions = append(sessions, p.Session.ID)
			identities = append(identities, p.Identity.ID)
		}
		if next == "" {
			return sessions, identities
		}
		after = next
	}
	t.Fatal("ListAllSessions never reached its last page")
	return nil, nil
}

func (s *suite) testListAllSessions(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice, bob := s.identity(), s.identity()
	mustCreate(t, st, alice, bob)
	now := s.now()
	a1, _ := s.session(alice.ID, now.Add(-3*time.Hour))
	b1, _ := s.session(bob.ID, now.Add(-2*time.Hour))
	a2, _ := s.session(alice.ID, now.Add(-time.Hour))
	b2, _ := s.session(bob.ID, now)
	b2.Active = false
	mustCreateSession(t, st, a1, b1, a2, b2)

	want := []string{b2.ID, a2.ID, b1.ID, a1.ID}
	wantOwners := []string{bob.ID, alice.ID, bob.ID, alice.ID}
	for _, size := range []int{1, 2, 3, 4, 10} {
		got, owners := listAll(t, st, size)
		if !slices.Equal(got, want) || !slices.Equal(owners, wantOwners) {
			t.Errorf("pages of %d: sessions %v of %v, want newest first %v of %v", size, got, owners, want, wantOwners)
		}
	}
	page, next, err := st.ListAllSessions(ctx, "", 4)
	if err != nil || len(page) != 4 || next != "" {
		t.Fatalf("ListAllSessions(all on one page) = %d sessions, next %q, %v; want 4 and no next", len(page), next, err)
	}
	wantJSON(t, "listed session", jsonOf(t, b2), page[0].Session)
	wantJSON(t, "its identity", jsonOf(t, bob), page[0].Identity)

	// An update keeps a session's place.
	a1.ExpiresAt = a1.ExpiresAt.Add(time.Hour)
	wantErr(t, "UpdateSession", st.UpdateSession(ctx, a1), nil)
	if got, _ := listAll(t, st, 2); !slices.Equal(got, want) {
		t.Errorf("after an update: %v, want %v", got, want)
	}
	if _, _, err := st.ListAllSessions(ctx, "", 0); err == nil {
		t.Error("ListAllSessions(limit 0) did not fail")
	}
}

func (s *suite) testListAllSessionsSkipsGone(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice, bob, carol := s.identity(), s.identity(), s.identity()
	mustCreate(t, st, alice, bob, carol)
	now := s.now()
	deleted, _ := s.session(alice.ID, now)
	kept, _ := s.session(alice.ID, now.Add(-time.Minute))
	bobs, _ := s.session(bob.ID, now.Add(-2*time.Minute))
	expiring, _ := s.session(carol.ID, now.Add(-3*time.Minute))
	expiring.ExpiresAt = now.Add(short)
	mustCreateSession(t, st, deleted, kept, bobs, expiring)

	wantErr(t, "DeleteSession", st.DeleteSession(ctx, deleted.ID), nil)
	wantErr(t, "DeleteIdentity", st.DeleteIdentity(ctx, bob.ID), nil)
	s.waitPast()
	for _, size := range []int{1, 3} {
		if got, _ := listAll(t, st, size); !slices.Equal(got, []string{kept.ID}) {
			t.Errorf("pages of %d: %v, want only the live session of a live identity [%s]", size, got, kept.ID)
		}
	}
}
