package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testCodes covers SaveCode, UseCode and CodeKey.
func (s *suite) testCodes(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	now := s.now()
	keep := now.Add(time.Hour)

	flowID, owner := identity.NewFlowID(now), identity.NewID()
	c := &identity.Code{FlowID: flowID, IdentityID: owner, Address: "a@example.com", Hash: "h1", ExpiresAt: now.Add(time.Hour)}
	wantErr(t, "SaveCode", st.SaveCode(ctx, c, keep), nil)
	_, err := st.UseCode(ctx, flowID, []string{"wrong"}, now, keep, 5)
	wantErr(t, "UseCode(wrong hash)", err, identity.ErrCodeInvalid)
	got, err := st.UseCode(ctx, flowID, []string{"other", "h1"}, now, keep, 5)
	wantErr(t, "UseCode(one of the hashes)", err, nil)
	if got == nil || got.IdentityID != owner || got.Address != "a@example.com" || !got.Used || got.FlowID != flowID ||
		got.ExpiresAt.UnixMilli() != c.ExpiresAt.UnixMilli() {
		t.Errorf("UseCode = %+v, want the code of %s used", got, owner)
	}
	_, err = st.UseCode(ctx, flowID, []string{"h1"}, now, keep, 5)
	wantErr(t, "UseCode(used)", err, identity.ErrCodeUsed)

	// A new code replaces the old one; the submissions still count: this
	// flow had three, two more are allowed.
	c2 := &identity.Code{FlowID: flowID, IdentityID: owner, Address: "a@example.com", Hash: "h2", ExpiresAt: now.Add(time.Hour)}
	wantErr(t, "SaveCode(again)", st.SaveCode(ctx, c2, keep), nil)
	_, err = st.UseCode(ctx, flowID, []string{"h1"}, now, keep, 5)
	wantErr(t, "UseCode(replaced code)", err, identity.ErrCodeInvalid)
	_, err = st.UseCode(ctx, flowID, []string{"h2"}, now, keep, 5)
	wantErr(t, "UseCode(5th)", err, nil)
	_, err = st.UseCode(ctx, flowID, []string{"h2"}, now, keep, 5)
	wantErr(t, "UseCode(6th)", err, identity.ErrCodeTooManySubmits)

	// Expired, and the count of a flow without any code.
	expFlow := identity.NewFlowID(now)
	wantErr(t, "SaveCode", st.SaveCode(ctx, &identity.Code{FlowID: expFlow, IdentityID: owner, Hash: "h", ExpiresAt: now.Add(time.Minute)}, keep), nil)
	_, err = st.UseCode(ctx, expFlow, []string{"h"}, now.Add(time.Minute), keep, 5)
	wantErr(t, "UseCode(at its expiry)", err, identity.ErrCodeExpired)
	none := identity.NewFlowID(now)
	for i := range 3 {
		_, err = st.UseCode(ctx, none, []string{"h"}, now, keep, 2)
		want := identity.ErrCodeInvalid
		if i == 2 {
			want = identity.ErrCodeTooManySubmits
		}
		wantErr(t, "UseCode(a flow without a code)", err, want)
	}

	// The record goes at keepUntil, with its count.
	gone := identity.NewFlowID(now)
	wantErr(t, "SaveCode", st.SaveCode(ctx, &identity.Code{FlowID: gone, IdentityID: owner, Hash: "h", ExpiresAt: now.Add(time.Hour)}, now.Add(short)), nil)
	s.waitPast()
	_, err = st.UseCode(ctx, gone, []string{"h"}, s.now(), s.now().Add(time.Hour), 5)
	wantErr(t, "UseCode(after keepUntil)", err, identity.ErrCodeInvalid)

	// Concurrent submissions of the right code: exactly one wins.
	race := identity.NewFlowID(now)
	wantErr(t, "SaveCode", st.SaveCode(ctx, &identity.Code{FlowID: race, IdentityID: owner, Hash: "r", ExpiresAt: s.now().Add(time.Hour)}, s.now().Add(time.Hour)), nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UseCode(ctx, race, []string{"r"}, s.now(), s.now().Add(time.Hour), 5); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent uses of one code succeeded, want 1", wins)
	}

	k1, err := st.CodeKey(ctx)
	wantErr(t, "CodeKey", err, nil)
	k2, err := st.CodeKey(ctx)
	wantErr(t, "CodeKey(again)", err, nil)
	if len(k1) < 32 || !bytes.Equal(k1, k2) {
		t.Errorf("CodeKey = %x then %x; want one key of 32 bytes or more", k1, k2)
	}
}
