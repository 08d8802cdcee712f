package storetest

import (
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// testContinuity covers SaveContinuity and TakeContinuity.
func (s *suite) testContinuity(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()

	id := identity.NewID()
	payload := []byte(`{"method":"profile","traits":{"email":"a@example.com"}}`)
	want := string(payload)
	wantErr(t, "SaveContinuity", st.SaveContinuity(ctx, id, payload, time.Minute), nil)
	payload[0] = 'X' // the store keeps its own copy
	got, err := st.TakeContinuity(ctx, id)
	wantErr(t, "TakeContinuity", err, nil)
	if string(got) != want {
		t.Errorf("TakeContinuity = %q, want %q", got, want)
	}
	_, err = st.TakeContinuity(ctx, id)
	wantErr(t, "TakeContinuity a second time", err, identity.ErrNotFound)
	_, err = st.TakeContinuity(ctx, identity.NewID())
	wantErr(t, "TakeContinuity(unknown)", err, identity.ErrNotFound)

	replaced := identity.NewID()
	wantErr(t, "SaveContinuity", st.SaveContinuity(ctx, replaced, []byte("first"), time.Minute), nil)
	wantErr(t, "SaveContinuity again", st.SaveContinuity(ctx, replaced, []byte("second"), time.Minute), nil)
	if got, err := st.TakeContinuity(ctx, replaced); err != nil || string(got) != "second" {
		t.Errorf("TakeContinuity(replaced) = %q, %v; want \"second\"", got, err)
	}

	expiring := identity.NewID()
	wantErr(t, "SaveContinuity", st.SaveContinuity(ctx, expiring, []byte("{}"), short), nil)
	s.waitPast()
	_, err = st.TakeContinuity(ctx, expiring)
	wantErr(t, "TakeContinuity(after its ttl)", err, identity.ErrNotFound)
}
