package storetest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// AtLimits returns a value that is exactly as deep as lim allows when it
// is the traits (the traits object being level 1) and close to its size:
// the deepest and largest record a client can make an identity hold.
func AtLimits(lim identity.Limits) map[string]any {
	var chain any = "leaf"
	for range lim.MaxDepth - 2 {
		chain = map[string]any{"n": chain}
	}
	traits := map[string]any{"name": chain}
	// Fill up to about MaxBytes with strings of at most MaxString bytes.
	for i := 0; ; i++ {
		raw, _ := json.Marshal(traits)
		room := lim.MaxBytes - len(raw) - 128 // room for an email
		if room <= 0 {
			break
		}
		traits["s"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26%26))] = strings.Repeat("v", min(room, lim.MaxString))
	}
	return traits
}

// testIdentityAtLimits stores, reads, lists, updates and deletes the deepest
// and largest identity the limits accept, with metadata as large.
func (s *suite) testIdentityAtLimits(t *testing.T) {
	lim := identity.DefaultLimits
	st := s.newStore(t)
	ctx := t.Context()
	id := s.identity("limits@example.com")
	traits := AtLimits(lim)
	traits["email"] = "limits@example.com"
	if err := lim.Check("traits", traits); err != nil {
		t.Fatalf("the fixture breaks the limits: %v", err)
	}
	id.Traits = traits
	meta, _ := json.Marshal(AtLimits(lim))
	id.MetadataPublic, id.MetadataAdmin = meta, meta
	mustCreate(t, st, id)
	want := jsonOf(t, id)
	wantJSON(t, "stored identity at the limits", want, mustGet(t, st, id.ID))

	list, _, err := st.ListIdentities(ctx, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %d identities, %v", len(list), err)
	}
	id.Traits["s"] = "changed"
	if err := st.UpdateIdentity(ctx, id); err != nil {
		t.Fatalf("update at the limits: %v", err)
	}
	if err := st.DeleteIdentity(ctx, id.ID); err != nil {
		t.Fatalf("delete at the limits: %v", err)
	}
}
