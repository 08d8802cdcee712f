package redisstore

import (
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// BenchmarkGetSession measures the session read of every authenticated
// request against a local redis-server: one round trip.
func BenchmarkGetSession(b *testing.B) {
	s, err := New(Options{Addrs: []string{redistest.StartServer(b)}, KeyPrefix: freshPrefix()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	id := &identity.Identity{ID: identity.NewID(), Traits: map[string]any{"email": "a@example.com"}, Password: &identity.PasswordCredential{Identifiers: []string{"a@example.com"}}}
	if err := s.CreateIdentity(ctx, id); err != nil {
		b.Fatal(err)
	}
	token := identity.NewSessionToken(id.ID)
	sess := &identity.Session{ID: identity.NewIDFor(id.ID), IdentityID: id.ID, TokenHash: identity.HashToken(token), Active: true, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.GetSession(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}
