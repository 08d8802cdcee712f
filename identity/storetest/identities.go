package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testIdentities covers CreateIdentity, GetIdentity,
// FindIdentityByIdentifier, UpdateIdentity, UpdateIdentityAndFlow,
// DeleteIdentity and ListIdentities.
func (s *suite) testIdentities(t *testing.T) {
	t.Run("CreateAndGet", s.testCreateAndGetIdentity)
	t.Run("CreateConflicts", s.testCreateIdentityConflicts)
	t.Run("FindByIdentifier", s.testFindIdentityByIdentifier)
	t.Run("Update", s.testUpdateIdentity)
	t.Run("UpdateWithFlow", s.testUpdateIdentityAndFlow)
	t.Run("Delete", s.testDeleteIdentity)
	t.Run("List", s.testListIdentities)
	t.Run("AtLimits", s.testIdentityAtLimits)
	t.Run("TraitNumbers", s.testTraitNumbers)
}

func (s *suite) testCreateAndGetIdentity(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	id := s.identity("alice@example.com", "alice")
	id.Version = 7
	mustCreate(t, st, id)
	if id.Version != 1 {
		t.Errorf("CreateIdentity set Version %d, want 1", id.Version)
	}
	want := jsonOf(t, id)

	// The store keeps its own copy: changing the caller's value or a value
	// it returned changes nothing stored.
	id.Traits["email"] = "changed@example.com"
	id.Password.Identifiers[0] = "changed@example.com"
	got := mustGet(t, st, id.ID)
	wantJSON(t, "stored identity", want, got)
	got.Traits["email"] = "mutated@example.com"
	got.VerifiableAddresses[0].Value = "mutated@example.com"
	wantJSON(t, "stored identity after changing a returned one", want, mustGet(t, st, id.ID))

	_, err := st.GetIdentity(ctx, identity.NewID())
	wantErr(t, "GetIdentity(unknown)", err, identity.ErrNotFound)
}

func (s *suite) testCreateIdentityConflicts(t *testing.T) {
	cases := []struct {
		name     string
		existing []string // identifiers of the identity created first
		sameID   bool     // the second identity reuses the first one's id
		create   []string // identifiers of the second identity
		want     error
	}{
		{name: "duplicate id", existing: []string{"a@example.com"}, sameID: true, create: []string{"b@example.com"}, want: identity.ErrExists},
		{name: "duplicate id without identifiers", sameID: true, want: identity.ErrExists},
		{name: "taken identifier", existing: []string{"a@example.com"}, create: []string{"a@example.com"}, want: identity.ErrDuplicateIdentifier},
		{name: "taken identifier in other case", existing: []string{"a@example.com"}, create: []string{"A@Example.COM"}, want: identity.ErrDuplicateIdentifier},
		{name: "one of two identifiers taken", existing: []string{"a@example.com"}, create: []string{"b@example.com", "a@example.com"}, want: identity.ErrDuplicateIdentifier},
		{name: "different identifiers", existing: []string{"a@example.com"}, create: []string{"b@example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := s.newStore(t)
			first := s.identity(tc.existing...)
			mustCreate(t, st, first)
			second := s.identity(tc.create...)
			if tc.sameID {
				second.ID = first.ID
			}
			err := st.CreateIdentity(t.Context(), second)
			wantErr(t, "CreateIdentity", err, tc.want)

			for _, ident := range tc.existing {
				wantOwner(t, st, ident, first.ID)
			}
			if tc.want == nil {
				for _, ident := range tc.create {
					wantOwner(t, st, ident, second.ID)
				}
				return
			}
			// Nothing of the failed create is stored: the first identity is
			// unchanged and identifiers only the second one had stay free.
			wantJSON(t, "first identity", jsonOf(t, first), mustGet(t, st, first.ID))
			if !tc.sameID {
				_, err := st.GetIdentity(t.Context(), second.ID)
				wantErr(t, "GetIdentity(failed create)", err, identity.ErrNotFound)
			}
			for _, ident := range tc.create {
				if !slices.Contains(tc.existing, strings.ToLower(ident)) {
					wantOwner(t, st, ident, "")
					mustCreate(t, st, s.identity(ident))
				}
			}
		})
	}
}

func (s *suite) testFindIdentityByIdentifier(t *testing.T) {
	st := s.newStore(t)
	alice := s.identity("alice@example.com", "alice")
	bob := s.identity("bob@example.com")
	mustCreate(t, st, alice, bob, s.identity())
	cases := []struct{ identifier, owner string }{
		{"alice@example.com", alice.ID},
		{"alice", alice.ID},
		{"ALICE@Example.com", alice.ID},
		{"bob@example.com", bob.ID},
		{"carol@example.com", ""},
		{"", ""},
	}
	for _, tc := range cases {
		wantOwner(t, st, tc.identifier, tc.owner)
	}
	got, err := st.FindIdentityByIdentifier(t.Context(), "alice")
	wantErr(t, "FindIdentityByIdentifier", err, nil)
	wantJSON(t, "found identity", jsonOf(t, alice), got)
}

func (s *suite) testUpdateIdentity(t *testing.T) {
	t.Run("applies and counts the version", func(t *testing.T) {
		st := s.newStore(t)
		id := s.identity("a@example.com")
		mustCreate(t, st, id)
		id.Traits["name"] = map[string]any{"first": "Augusta"}
		id.State = identity.IdentityInactive
		wantErr(t, "UpdateIdentity", st.UpdateIdentity(t.Context(), id), nil)
		if id.Version != 2 {
			t.Errorf("Version after update = %d, want 2", id.Version)
		}
		wantJSON(t, "updated identity", jsonOf(t, id), mustGet(t, st, id.ID))
		wantOwner(t, st, "a@example.com", id.ID)
	})
	t.Run("keeps and clears a pending change", func(t *testing.T) {
		// A held address change travels with the identity record; the
		// identifiers stay the stored ones until it is applied.
		st := s.newStore(t)
		id := s.identity("a@example.com")
		mustCreate(t, st, id)
		id.PendingChange = &identity.PendingChange{
			Traits: map[string]any{"email": "b@example.com"}, Address: "b@example.com", Previous: []string{"a@example.com"},
			SessionID: identity.NewID(), SettingsFlowID: identity.NewID(), VerificationFlowID: identity.NewID(),
			TraitsHash: strings.Repeat("ab", 32), CreatedAt: s.now(),
		}
		wantErr(t, "UpdateIdentity", st.UpdateIdentity(t.Context(), id), nil)
		wantJSON(t, "identity with a pending change", jsonOf(t, id), mustGet(t, st, id.ID))
		wantOwner(t, st, "a@example.com", id.ID)
		id.PendingChange = nil
		wantErr(t, "UpdateIdentity", st.UpdateIdentity(t.Context(), id), nil)
		if got := mustGet(t, st, id.ID); got.PendingChange != nil {
			t.Errorf("pending change after clearing it: %+v", got.PendingChange)
		}
	})
	t.Run("stale version", func(t *testing.T) {
		st := s.newStore(t)
		id := s.identity("a@example.com")
		mustCreate(t, st, id)
		stale := mustGet(t, st, id.ID)
		id.Traits["age"] = 37.0
		wantErr(t, "first UpdateIdentity", st.UpdateIdentity(t.Context(), id), nil)
		want := jsonOf(t, id)
		stale.Traits["age"] = 99.0
		stale.Password.Identifiers = []string{"stale@example.com"}
		wantErr(t, "stale UpdateIdentity", st.UpdateIdentity(t.Context(), stale), identity.ErrVersionConflict)
		if stale.Version != 1 {
			t.Errorf("a rejected update changed Version to %d", stale.Version)
		}
		wantJSON(t, "identity after a stale update", want, mustGet(t, st, id.ID))
		wantOwner(t, st, "a@example.com", id.ID)
		wantOwner(t, st, "stale@example.com", "")
	})
	t.Run("unknown identity", func(t *testing.T) {
		st := s.newStore(t)
		id := s.identity("a@example.com")
		id.Version = 1
		wantErr(t, "UpdateIdentity", st.UpdateIdentity(t.Context(), id), identity.ErrNotFound)
		wantOwner(t, st, "a@example.com", "")
	})
	t.Run("moves identifiers", func(t *testing.T) {
		st := s.newStore(t)
		id := s.identity("a@example.com", "a2@example.com")
		mustCreate(t, st, id)
		id.Password.Identifiers = []string{"a2@example.com", "b@example.com"}
		wantErr(t, "UpdateIdentity", st.UpdateIdentity(t.Context(), id), nil)
		wantOwner(t, st, "a@example.com", "")
		wantOwner(t, st, "a2@example.com", id.ID)
		wantOwner(t, st, "b@example.com", id.ID)
		other := s.identity("a@example.com")
		mustCreate(t, st, other)
		wantOwner(t, st, "a@example.com", other.ID)

		id.Password = nil
		wantErr(t, "UpdateIdentity dropping the password", st.UpdateIdentity(t.Context(), id), nil)
		wantOwner(t, st, "a2@example.com", "")
		wantOwner(t, st, "b@example.com", "")
	})
	for _, taken := range []string{"b@example.com", "B@EXAMPLE.com"} {
		t.Run("taken identifier "+taken, func(t *testing.T) {
			st := s.newStore(t)
			alice := s.identity("a@example.com")
			bob := s.identity("b@example.com")
			mustCreate(t, st, alice, bob)
			want := jsonOf(t, alice)
			alice.Password.Identifiers = []string{"c@example.com", taken}
			err := st.UpdateIdentity(t.Context(), alice)
			wantErr(t, "UpdateIdentity", err, identity.ErrDuplicateIdentifier)
			if alice.Version != 1 {
				t.Errorf("a rejected update changed Version to %d", alice.Version)
			}
			wantJSON(t, "identity after a rejected update", want, mustGet(t, st, alice.ID))
			wantOwner(t, st, "a@example.com", alice.ID)
			wantOwner(t, st, "b@example.com", bob.ID)
			wantOwner(t, st, "c@example.com", "")
		})
	}
}

func (s *suite) testUpdateIdentityAndFlow(t *testing.T) {
	cases := []struct {
		name   string
		change func(id *identity.Identity) // makes the update fail, or not
		want   error
	}{
		{name: "both written", change: func(*identity.Identity) {}},
		{name: "stale version", change: func(id *identity.Identity) { id.Version = 5 }, want: identity.ErrVersionConflict},
		{name: "taken identifier", change: func(id *identity.Identity) { id.Password.Identifiers = []string{"b@example.com"} }, want: identity.ErrDuplicateIdentifier},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := s.newStore(t)
			alice := s.identity("a@example.com")
			mustCreate(t, st, alice, s.identity("b@example.com"))
			before := s.flow(alice.ID)
			wantErr(t, "SaveFlow", st.SaveFlow(t.Context(), before), nil)
			wantIdentity, wantFlow := jsonOf(t, alice), jsonOf(t, before)

			f := s.flow(alice.ID)
			f.ID = before.ID
			f.State = identity.StateSuccess
			f.IdentityVersion = 2
			read := mustGet(t, st, alice.ID) // the identity as a caller read it
			alice.Traits["age"] = 40.0
			tc.change(alice)
			err := st.UpdateIdentityAndFlow(t.Context(), read, alice, f)
			wantErr(t, "UpdateIdentityAndFlow", err, tc.want)
			if tc.want == nil {
				wantIdentity, wantFlow = jsonOf(t, alice), jsonOf(t, f)
				if alice.Version != 2 {
					t.Errorf("Version after update = %d, want 2", alice.Version)
				}
			}
			wantJSON(t, "identity", wantIdentity, mustGet(t, st, alice.ID))
			got, err := st.GetFlow(t.Context(), f.ID)
			wantErr(t, "GetFlow", err, nil)
			wantJSON(t, "flow", wantFlow, got)
		})
	}
	t.Run("stale read", func(t *testing.T) {
		// The caller read version 1; another write made version 2 (a new
		// email) before this one: a conflict, and the index keeps the other
		// write's identifier.
		st := s.newStore(t)
		alice := s.identity("a@example.com")
		mustCreate(t, st, alice)
		read := mustGet(t, st, alice.ID)
		other := mustGet(t, st, alice.ID)
		other.Password.Identifiers = []string{"c@example.com"}
		wantErr(t, "UpdateIdentity", st.UpdateIdentity(t.Context(), other), nil)
		mine := mustGet(t, st, alice.ID)
		mine.Version = read.Version
		mine.Password.Identifiers = []string{"d@example.com"}
		f := s.flow(alice.ID)
		wantErr(t, "UpdateIdentityAndFlow", st.UpdateIdentityAndFlow(t.Context(), read, mine, f), identity.ErrVersionConflict)
		wantOwner(t, st, "c@example.com", alice.ID)
		wantOwner(t, st, "d@example.com", "")
		wantOwner(t, st, "a@example.com", "")
	})
	t.Run("new flow not written on conflict", func(t *testing.T) {
		st := s.newStore(t)
		alice := s.identity("a@example.com")
		mustCreate(t, st, alice)
		alice.Version = 3
		f := s.flow(alice.ID)
		wantErr(t, "UpdateIdentityAndFlow", st.UpdateIdentityAndFlow(t.Context(), nil, alice, f), identity.ErrVersionConflict)
		_, err := st.GetFlow(t.Context(), f.ID)
		wantErr(t, "GetFlow", err, identity.ErrNotFound)
	})
	t.Run("flow of another routing key refused", func(t *testing.T) {
		// UpdateIdentityAndFlow is for the identity's own flows, whose ids
		// share its routing key (identity.NewIDFor).
		st := s.newStore(t)
		alice := s.identity("a@example.com")
		mustCreate(t, st, alice)
		want := jsonOf(t, alice)
		f := s.flow(alice.ID)
		f.ID = otherRoutingKey(alice.ID)
		alice.Traits["age"] = 41.0
		if err := st.UpdateIdentityAndFlow(t.Context(), nil, alice, f); err == nil {
			t.Fatal("UpdateIdentityAndFlow accepted a flow that does not share the identity's routing key")
		}
		wantJSON(t, "identity", want, mustGet(t, st, alice.ID))
		_, err := st.GetFlow(t.Context(), f.ID)
		wantErr(t, "GetFlow", err, identity.ErrNotFound)
	})
}

func (s *suite) testDeleteIdentity(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice := s.identity("a@example.com", "alice")
	bob := s.identity("b@example.com")
	mustCreate(t, st, alice, bob)
	s1, tok1 := s.session(alice.ID, s.now())
	s2, _ := s.session(alice.ID, s.now())
	s3, tok3 := s.session(bob.ID, s.now())
	mustCreateSession(t, st, s1, s2, s3)

	wantErr(t, "DeleteIdentity", st.DeleteIdentity(ctx, alice.ID), nil)
	_, err := st.GetIdentity(ctx, alice.ID)
	wantErr(t, "GetIdentity(deleted)", err, identity.ErrNotFound)
	wantOwner(t, st, "a@example.com", "")
	wantOwner(t, st, "alice", "")
	_, _, err = st.GetSession(ctx, tok1)
	wantErr(t, "GetSession(deleted identity)", err, identity.ErrNotFound)
	_, err = st.GetSessionByID(ctx, s2.ID)
	wantErr(t, "GetSessionByID(deleted identity)", err, identity.ErrNotFound)
	list, err := st.ListSessions(ctx, alice.ID)
	wantErr(t, "ListSessions", err, nil)
	if len(list) != 0 {
		t.Errorf("ListSessions(deleted identity) = %v", sessionIDs(list))
	}
	wantErr(t, "DeleteIdentity again", st.DeleteIdentity(ctx, alice.ID), identity.ErrNotFound)

	// Others are untouched, and the identifiers are free again.
	if _, got, err := st.GetSession(ctx, tok3); err != nil || got.ID != bob.ID {
		t.Errorf("GetSession(bob) = %v, %v", got, err)
	}
	wantOwner(t, st, "b@example.com", bob.ID)
	mustCreate(t, st, s.identity("a@example.com", "alice"))
}

func (s *suite) testListIdentities(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	page, next, err := st.ListIdentities(ctx, "", 10)
	if err != nil || len(page) != 0 || next != "" {
		t.Fatalf("ListIdentities(empty store) = %d identities, %q, %v", len(page), next, err)
	}

	var ids []string
	for range 5 {
		id := s.identity()
		mustCreate(t, st, id)
		ids = append(ids, id.ID)
	}
	slices.Sort(ids)
	cases := []struct {
		after    string
		limit    int
		want     []string
		wantNext string
	}{
		{"", 2, ids[0:2], ids[1]},
		{ids[1], 2, ids[2:4], ids[3]},
		{ids[3], 2, ids[4:5], ""},
		{"", 5, ids, ""},
		{"", 10, ids, ""},
		{ids[0], 4, ids[1:5], ""},
		{ids[4], 3, nil, ""},
	}
	for _, tc := range cases {
		page, next, err := st.ListIdentities(ctx, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("ListIdentities(%q, %d): %v", tc.after, tc.limit, err)
		}
		var got []string
		for _, id := range page {
			got = append(got, id.ID)
		}
		if !slices.Equal(got, tc.want) || next != tc.wantNext {
			t.Errorf("ListIdentities(%q, %d) = %v, %q; want %v, %q", tc.after, tc.limit, got, next, tc.want, tc.wantNext)
		}
	}
	page, _, _ = st.ListIdentities(ctx, "", 1)
	if len(page) == 1 {
		wantJSON(t, "listed identity", jsonOf(t, mustGet(t, st, ids[0])), page[0])
	}
}
