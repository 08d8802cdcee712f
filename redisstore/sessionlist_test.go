package redisstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testSessionIndex: the list of all sessions drops what is gone. An entry
// whose session was deleted goes once it is older than indexGrace (a
// younger one is skipped and kept: its session may still be on its way),
// and a refresh that moves a session's issue time leaves one entry.
func testSessionIndex(t *testing.T, st *Store) {
	ctx := context.Background()
	id := &identity.Identity{ID: identity.NewID(), SchemaID: "default", State: identity.IdentityActive, Traits: map[string]any{}}
	if err := st.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Round(0)
	newSession := func(issued time.Time) *identity.Session {
		token := identity.NewSessionToken(id.ID)
		sess := &identity.Session{
			ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), Active: true,
			IssuedAt: issued, AuthenticatedAt: issued, ExpiresAt: now.Add(time.Hour), AAL: identity.AAL1,
		}
		if err := st.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	old := newSession(now.Add(-2 * indexGrace))
	young := newSession(now)
	kept := newSession(now.Add(-time.Hour))
	for _, s := range []*identity.Session{old, young} {
		if err := st.DeleteSession(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	kept.IssuedAt = now.Add(-time.Minute) // a refresh
	if err := st.UpdateSession(ctx, kept); err != nil {
		t.Fatal(err)
	}
	index := func() []string {
		m, err := st.client.ZRange(ctx, st.keys.sessionIndexByIssue(), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if n := len(index()); n != 4 {
		t.Fatalf("index holds %d entries before a listing, want 4", n)
	}
	list, next, err := st.ListAllSessions(ctx, "", 10)
	if err != nil || next != "" || len(list) != 1 || list[0].Session.ID != kept.ID {
		t.Fatalf("ListAllSessions = %d sessions, next %q, %v; want only %s", len(list), next, err, kept.ID)
	}
	if got, want := index(), []string{identity.SessionCursor(young), identity.SessionCursor(kept)}; !slices.Equal(got, want) {
		t.Errorf("index after a listing %v, want the young missing entry and the refreshed session %v", got, want)
	}
	exp, err := st.client.ZCard(ctx, st.keys.sessionIndexByExpiry()).Result()
	if err != nil || exp != 2 {
		t.Errorf("expiry index holds %d entries, %v; want 2", exp, err)
	}
}
