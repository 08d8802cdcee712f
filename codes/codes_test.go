package codes_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/codes"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/memstore"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := codes.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != codes.Length || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("Generate = %q, want %d digits", c, codes.Length)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("200 codes gave only %d different ones", len(seen))
	}
}

func TestIssueAndUse(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	st := memstore.NewWithClock(func() time.Time { return now })
	ctx := t.Context()
	c := codes.New(st, nil)
	flow, owner := identity.NewFlowID(now), identity.NewID()
	exp, keep := now.Add(time.Hour), now.Add(25*time.Hour)

	code, err := c.Issue(ctx, flow, owner, "a@example.com", exp, keep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Use(ctx, identity.NewFlowID(now), code, now, keep); !errors.Is(err, identity.ErrCodeInvalid) {
		t.Errorf("the code on another flow: %v, want invalid (codes are bound to their flow)", err)
	}
	if _, err := c.Use(ctx, flow, "12345x", now, keep); !errors.Is(err, identity.ErrCodeInvalid) {
		t.Errorf("a malformed code: %v, want invalid", err)
	}
	got, err := c.Use(ctx, flow, " "+code+" ", now, keep)
	if err != nil || got.IdentityID != owner || got.Address != "a@example.com" {
		t.Fatalf("Use = %+v, %v", got, err)
	}
	if _, err := c.Use(ctx, flow, code, now, keep); !errors.Is(err, identity.ErrCodeUsed) {
		t.Errorf("second use: %v, want used", err)
	}

	// A decoy never matches, whatever is tried; the 6th try closes.
	decoy := identity.NewFlowID(now)
	if err := c.Decoy(ctx, decoy, exp, keep); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		_, err := c.Use(ctx, decoy, "000000", now, keep)
		want := identity.ErrCodeInvalid
		if i == 5 {
			want = identity.ErrCodeTooManySubmits
		}
		if !errors.Is(err, want) {
			t.Errorf("decoy try %d: %v, want %v", i+1, err, want)
		}
	}
}

// TestSecrets: codes hashed with the site's secret are checked against
// every configured secret, so the secret can be rotated; the store's own
// key is not used then.
func TestSecrets(t *testing.T) {
	now := time.Now()
	st := memstore.New()
	ctx := t.Context()
	old := codes.New(st, [][]byte{[]byte("old secret")})
	rotated := codes.New(st, [][]byte{[]byte("new secret"), []byte("old secret")})
	storeKeyed := codes.New(st, nil)
	flow := identity.NewFlowID(now)
	code, err := old.Issue(ctx, flow, identity.NewID(), "a@example.com", now.Add(time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storeKeyed.Use(ctx, flow, code, now, now.Add(time.Hour)); !errors.Is(err, identity.ErrCodeInvalid) {
		t.Errorf("checked with the store's key: %v, want invalid", err)
	}
	if _, err := rotated.Use(ctx, flow, code, now, now.Add(time.Hour)); err != nil {
		t.Errorf("checked after a rotation: %v", err)
	}
}

func TestAddresses(t *testing.T) {
	now := time.Now().UTC()
	id := &identity.Identity{
		VerifiableAddresses: []identity.VerifiableAddress{{Value: "a@example.com", Via: "email", Status: codes.StatusPending}},
		RecoveryAddresses:   []identity.RecoveryAddress{{Value: "a@example.com", Via: "email"}},
	}
	if !codes.HasRecoveryAddress(id, " A@Example.com") || codes.HasRecoveryAddress(id, "b@example.com") {
		t.Error("HasRecoveryAddress does not compare normalised addresses")
	}
	if !codes.MarkSent(id, "A@example.com", now) || id.VerifiableAddresses[0].Status != codes.StatusSent {
		t.Errorf("MarkSent: %+v", id.VerifiableAddresses[0])
	}
	if !codes.MarkVerified(id, "a@example.com", now) {
		t.Fatal("MarkVerified changed nothing")
	}
	a := id.VerifiableAddresses[0]
	if !a.Verified || a.Status != codes.StatusCompleted || a.VerifiedAt == nil || !a.VerifiedAt.Equal(now) {
		t.Errorf("after MarkVerified: %+v", a)
	}
	if codes.MarkSent(id, "a@example.com", now) || codes.MarkVerified(id, "a@example.com", now.Add(time.Hour)) {
		t.Error("a verified address changed again")
	}
	if len(codes.Unverified(id)) != 0 {
		t.Errorf("Unverified = %v", codes.Unverified(id))
	}
}
