package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testSessions covers CreateSession, GetSession, ViewSession, GetSessionByID,
// UpdateSession, ListSessions, DeleteSession, DeleteSessions,
// RevokeSessions and ListAllSessions.
func (s *suite) testSessions(t *testing.T) {
	t.Run("CreateAndGet", s.testCreateAndGetSession)
	t.Run("View", s.testViewSession)
	t.Run("TokenNeverStored", s.testTokenNeverStored)
	t.Run("Unknown", s.testUnknownSession)
	t.Run("Expiry", s.testSessionExpiry)
	t.Run("Update", s.testUpdateSession)
	t.Run("List", s.testListSessions)
	t.Run("Delete", s.testDeleteSession)
	t.Run("DeleteOthers", s.testDeleteSessions)
	t.Run("RevokeOthers", s.testRevokeSessions)
	t.Run("ListAll", s.testListAllSessions)
	t.Run("ListAllSkipsGone", s.testListAllSessionsSkipsGone)
}

func (s *suite) testCreateAndGetSession(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice := s.identity("a@example.com")
	mustCreate(t, st, alice)
	sess, token := s.session(alice.ID, s.now())
	mustCreateSession(t, st, sess)
	want := jsonOf(t, sess)
	sess.Active = false
	sess.Devices[0].UserAgent = "changed"

	got, id, err := st.GetSession(ctx, token)
	wantErr(t, "GetSession", err, nil)
	wantJSON(t, "session", want, got)
	wantJSON(t, "identity", jsonOf(t, alice), id)

	byID, err := st.GetSessionByID(ctx, got.ID)
	wantErr(t, "GetSessionByID", err, nil)
	wantJSON(t, "session by id", want, byID)

	again := *got
	wantErr(t, "CreateSession(same session)", st.CreateSession(ctx, &again), identity.ErrExists)
}

// testViewSession: ViewSession answers as GetSession, and what it gave is a
// snapshot that later writes leave as it was.
func (s *suite) testViewSession(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice := s.identity("a@example.com")
	mustCreate(t, st, alice)
	sess, token := s.session(alice.ID, s.now())
	mustCreateSession(t, st, sess)

	_, _, err := st.ViewSession(ctx, identity.NewSessionToken(alice.ID))
	wantErr(t, "ViewSession(unknown)", err, identity.ErrNotFound)
	gotS, gotID, err := st.GetSession(ctx, token)
	wantErr(t, "GetSession", err, nil)
	viewS, viewID, err := st.ViewSession(ctx, token)
	wantErr(t, "ViewSession", err, nil)
	wantSession, wantIdentity := jsonOf(t, gotS), jsonOf(t, gotID)
	wantJSON(t, "viewed session", wantSession, viewS)
	wantJSON(t, "viewed identity", wantIdentity, viewID)

	// A revoked session and changed traits: the records viewed before stay
	// as they were, a new view shows the change.
	revoked := *gotS
	revoked.Active = false
	wantErr(t, "UpdateSession", st.UpdateSession(ctx, &revoked), nil)
	gotID.Traits["name"] = map[string]any{"first": "Augusta", "last": "King"}
	wantErr(t, "UpdateIdentity", st.UpdateIdentity(ctx, gotID), nil)
	wantJSON(t, "session viewed before the update", wantSession, viewS)
	wantJSON(t, "identity viewed before the update", wantIdentity, viewID)
	viewS, viewID, err = st.ViewSession(ctx, token)
	wantErr(t, "ViewSession after the update", err, nil)
	wantJSON(t, "viewed session after the update", jsonOf(t, revoked), viewS)
	wantJSON(t, "viewed identity after the update", jsonOf(t, gotID), viewID)
}

func (s *suite) testTokenNeverStored(t *testing.T) {
	if s.opts.Dump == nil {
		t.Skip("no Dump hook")
	}
	st := s.newStore(t)
	alice := s.identity("a@example.com")
	mustCreate(t, st, alice)
	sess, token := s.session(alice.ID, s.now())
	mustCreateSession(t, st, sess)
	if _, _, err := st.GetSession(t.Context(), token); err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	sess.Active = false
	wantErr(t, "UpdateSession", st.UpdateSession(t.Context(), sess), nil)

	dump := s.opts.Dump(t, st)
	if !strings.Contains(dump, sess.TokenHash) {
		t.Fatalf("the dump does not show the session (its token hash); does the Dump hook see the store?\n%s", dump)
	}
	secret := strings.TrimPrefix(token, identity.SessionTokenPrefix)
	if strings.Contains(dump, secret) {
		t.Errorf("the store keeps the raw session token:\n%s", dump)
	}
}

func (s *suite) testUnknownSession(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice := s.identity()
	mustCreate(t, st, alice)
	sess, token := s.session(alice.ID, s.now())
	mustCreateSession(t, st, sess)

	wrongRoutingKey := identity.NewSessionToken(otherRoutingKey(alice.ID))
	wrongRoutingKey = wrongRoutingKey[:11] + token[11:]
	for name, tok := range map[string]string{
		"unknown":           identity.NewSessionToken(alice.ID),
		"empty":             "",
		"changed character": token[:len(token)-1] + string(token[len(token)-1]^1),
		"no prefix":         strings.TrimPrefix(token, identity.SessionTokenPrefix),
		"odd characters":    "ory_st_{}:*" + token[11:],
		"other routing key": wrongRoutingKey,
	} {
		_, _, err := st.GetSession(ctx, tok)
		wantErr(t, "GetSession("+name+")", err, identity.ErrNotFound)
	}

	// Tokens must come from identity.NewSessionToken(identity id): a session
	// stored for a token of another routing key is not found.
	foreign, _ := s.session(alice.ID, s.now())
	foreignToken := identity.NewSessionToken(otherRoutingKey(alice.ID))
	foreign.TokenHash = identity.HashToken(foreignToken)
	mustCreateSession(t, st, foreign)
	_, _, err := st.GetSession(ctx, foreignToken)
	wantErr(t, "GetSession(token not made for its identity)", err, identity.ErrNotFound)

	_, err = st.GetSessionByID(ctx, identity.NewIDFor(alice.ID))
	wantErr(t, "GetSessionByID(unknown)", err, identity.ErrNotFound)
	_, err = st.GetSessionByID(ctx, "")
	wantErr(t, "GetSessionByID(empty)", err, identity.ErrNotFound)
}

func (s *suite) testSessionExpiry(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice := s.identity()
	mustCreate(t, st, alice)
	expiring, token := s.session(alice.ID, s.now())
	expiring.ExpiresAt = s.now().Add(short)
	lasting, _ := s.session(alice.ID, s.now())
	expired, expiredToken := s.session(alice.ID, s.now().Add(-2*time.Hour))
	expired.ExpiresAt = s.now().Add(-time.Hour)
	mustCreateSession(t, st, expiring, lasting, expired) // storing an expired session is no error
	s.waitPast()

	for name, tok := range map[string]string{"expired": token, "created expired": expiredToken} {
		_, _, err := st.GetSession(ctx, tok)
		wantErr(t, "GetSession("+name+")", err, identity.ErrNotFound)
	}
	for _, id := range []string{expiring.ID, expired.ID} {
		_, err := st.GetSessionByID(ctx, id)
		wantErr(t, "GetSessionByID(expired)", err, identity.ErrNotFound)
		wantErr(t, "DeleteSession(expired)", st.DeleteSession(ctx, id), identity.ErrNotFound)
	}
	list, err := st.ListSessions(ctx, alice.ID)
	wantErr(t, "ListSessions", err, nil)
	if got := sessionIDs(list); !slices.Equal(got, []string{lasting.ID}) {
		t.Errorf("ListSessions = %v, want only the lasting session %s", got, lasting.ID)
	}
	n, err := st.DeleteSessions(ctx, alice.ID, "")
	if err != nil || n != 1 {
		t.Errorf("DeleteSessions = %d, %v; want 1 (expired sessions do not count)", n, err)
	}
}

func (s *suite) testUpdateSession(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice := s.identity()
	mustCreate(t, st, alice)
	sess, token := s.session(alice.ID, s.now())
	other, otherToken := s.session(alice.ID, s.now())
	mustCreateSession(t, st, sess, other)

	sess.ExpiresAt = s.now().Add(48 * time.Hour)
	sess.AuthenticatedAt = s.now().Add(time.Minute)
	sess.AuthenticationMethods = append(sess.AuthenticationMethods, identity.AuthenticationMethod{Method: "password", AAL: identity.AAL1, CompletedAt: sess.AuthenticatedAt})
	sess.Active = false
	wantErr(t, "UpdateSession", st.UpdateSession(ctx, sess), nil)
	got, _, err := st.GetSession(ctx, token)
	wantErr(t, "GetSession", err, nil)
	wantJSON(t, "updated session", jsonOf(t, sess), got)
	byID, err := st.GetSessionByID(ctx, sess.ID)
	wantErr(t, "GetSessionByID", err, nil)
	wantJSON(t, "updated session by id", jsonOf(t, sess), byID)

	unknown, _ := s.session(alice.ID, s.now())
	wantErr(t, "UpdateSession(unknown)", st.UpdateSession(ctx, unknown), identity.ErrNotFound)
	wrongHash := *sess
	wrongHash.TokenHash = unknown.TokenHash
	wantErr(t, "UpdateSession(other token hash)", st.UpdateSession(ctx, &wrongHash), identity.ErrNotFound)
	if _, _, err := st.GetSession(ctx, token); err != nil {
		t.Errorf("GetSession after a refused update: %v", err)
	}

	// An update that moves the expiry into the past ends the session.
	other.ExpiresAt = s.now().Add(-time.Second)
	wantErr(t, "UpdateSession(expired)", st.UpdateSession(ctx, other), nil)
	_, _, err = st.GetSession(ctx, otherToken)
	wantErr(t, "GetSession(ended by update)", err, identity.ErrNotFound)
	list, err := st.ListSessions(ctx, alice.ID)
	wantErr(t, "ListSessions", err, nil)
	if got := sessionIDs(list); !slices.Equal(got, []string{sess.ID}) {
		t.Errorf("ListSessions = %v, want [%s]", got, sess.ID)
	}
}

func (s *suite) testListSessions(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice, bob := s.identity(), s.identity()
	mustCreate(t, st, alice, bob)
	now := s.now()
	oldest, _ := s.session(alice.ID, now.Add(-3*time.Hour))
	newest, _ := s.session(alice.ID, now.Add(-time.Hour))
	middle, _ := s.session(alice.ID, now.Add(-2*time.Hour))
	bobs, _ := s.session(bob.ID, now)
	mustCreateSession(t, st, oldest, newest, middle, bobs)

	list, err := st.ListSessions(ctx, alice.ID)
	wantErr(t, "ListSessions", err, nil)
	if got, want := sessionIDs(list), []string{newest.ID, middle.ID, oldest.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListSessions = %v, want newest first %v", got, want)
	}
	wantJSON(t, "listed session", jsonOf(t, newest), list[0])

	list, err = st.ListSessions(ctx, identity.NewID())
	if err != nil || len(list) != 0 {
		t.Errorf("ListSessions(unknown identity) = %v, %v; want none", sessionIDs(list), err)
	}
}

func (s *suite) testDeleteSession(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice := s.identity()
	mustCreate(t, st, alice)
	s1, tok1 := s.session(alice.ID, s.now())
	s2, tok2 := s.session(alice.ID, s.now().Add(-time.Minute))
	mustCreateSession(t, st, s1, s2)

	wantErr(t, "DeleteSession", st.DeleteSession(ctx, s1.ID), nil)
	_, _, err := st.GetSession(ctx, tok1)
	wantErr(t, "GetSession(deleted)", err, identity.ErrNotFound)
	_, err = st.GetSessionByID(ctx, s1.ID)
	wantErr(t, "GetSessionByID(deleted)", err, identity.ErrNotFound)
	wantErr(t, "DeleteSession again", st.DeleteSession(ctx, s1.ID), identity.ErrNotFound)
	if _, _, err := st.GetSession(ctx, tok2); err != nil {
		t.Errorf("GetSession(other session): %v", err)
	}
	list, err := st.ListSessions(ctx, alice.ID)
	wantErr(t, "ListSessions", err, nil)
	if got := sessionIDs(list); !slices.Equal(got, []string{s2.ID}) {
		t.Errorf("ListSessions = %v, want [%s]", got, s2.ID)
	}
}

func (s *suite) testDeleteSessions(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice, bob := s.identity(), s.identity()
	mustCreate(t, st, alice, bob)
	s1, tok1 := s.session(alice.ID, s.now())
	s2, tok2 := s.session(alice.ID, s.now().Add(-time.Minute))
	s3, _ := s.session(alice.ID, s.now().Add(-2*time.Minute))
	bobs, bobToken := s.session(bob.ID, s.now())
	mustCreateSession(t, st, s1, s2, s3, bobs)

	n, err := st.DeleteSessions(ctx, alice.ID, s2.ID)
	if err != nil || n != 2 {
		t.Fatalf("DeleteSessions(keep one) = %d, %v; want 2", n, err)
	}
	list, err := st.ListSessions(ctx, alice.ID)
	wantErr(t, "ListSessions", err, nil)
	if got := sessionIDs(list); !slices.Equal(got, []string{s2.ID}) {
		t.Errorf("ListSessions = %v, want the kept [%s]", got, s2.ID)
	}
	_, _, err = st.GetSession(ctx, tok1)
	wantErr(t, "GetSession(removed)", err, identity.ErrNotFound)
	_, err = st.GetSessionByID(ctx, s3.ID)
	wantErr(t, "GetSessionByID(removed)", err, identity.ErrNotFound)
	if _, _, err := st.GetSession(ctx, tok2); err != nil {
		t.Errorf("GetSession(kept): %v", err)
	}
	if _, _, err := st.GetSession(ctx, bobToken); err != nil {
		t.Errorf("GetSession(other identity): %v", err)
	}

	n, err = st.DeleteSessions(ctx, alice.ID, "")
	if err != nil || n != 1 {
		t.Errorf("DeleteSessions(keep none) = %d, %v; want 1", n, err)
	}
	n, err = st.DeleteSessions(ctx, identity.NewID(), "")
	if err != nil || n != 0 {
		t.Errorf("DeleteSessions(unknown identity) = %d, %v; want 0", n, err)
	}
}
