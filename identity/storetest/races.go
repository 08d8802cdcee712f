package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// Sizes of the races; small enough for two cores under -race.
const (
	racingUpdates       = 50
	racingRegistrations = 20
)

// testRaces runs concurrent writes that the store must serialise.
func (s *suite) testRaces(t *testing.T) {
	t.Run("UpdatesOfOneIdentity", s.testRacingUpdates)
	t.Run("RegistrationsOfOneIdentifier", s.testRacingRegistrations)
}

// testRacingUpdates lets goroutines each read one identity, add a mark to
// its traits and write it back with a version check: no write may be lost
// and every rejected one must be a version conflict.
func (s *suite) testRacingUpdates(t *testing.T) {
	st := s.newStore(t)
	id := s.identity("race@example.com")
	id.Traits["count"] = 0.0
	id.Traits["marks"] = []any{}
	mustCreate(t, st, id)

	errs := make([]error, racingUpdates)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racingUpdates {
		wg.Go(func() {
			<-start
			got, err := st.GetIdentity(t.Context(), id.ID)
			if err != nil {
				errs[i] = fmt.Errorf("GetIdentity: %w", err)
				return
			}
			got.Traits["count"] = got.Traits["count"].(float64) + 1
			got.Traits["marks"] = append(got.Traits["marks"].([]any), fmt.Sprint(i))
			errs[i] = st.UpdateIdentity(t.Context(), got)
		})
	}
	close(start)
	wg.Wait()

	accepted := map[string]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			accepted[fmt.Sprint(i)] = true
		case !errors.Is(err, identity.ErrVersionConflict):
			t.Errorf("update %d: %v; want nil or ErrVersionConflict", i, err)
		}
	}
	if len(accepted) == 0 {
		t.Fatal("no update was accepted")
	}
	final := mustGet(t, st, id.ID)
	if want := int64(1 + len(accepted)); final.Version != want {
		t.Errorf("final Version = %d, want 1 + %d accepted = %d", final.Version, len(accepted), want)
	}
	if n := final.Traits["count"]; n != float64(len(accepted)) {
		t.Errorf("final count = %v, want %d accepted", n, len(accepted))
	}
	applied := map[string]bool{}
	for _, m := range final.Traits["marks"].([]any) {
		applied[m.(string)] = true
	}
	if !maps.Equal(applied, accepted) {
		t.Errorf("applied marks %v, accepted %v", slices.Sorted(maps.Keys(applied)), slices.Sorted(maps.Keys(accepted)))
	}
}

// testRacingRegistrations lets goroutines each create a different identity
// with the same identifier: exactly one may win.
func (s *suite) testRacingRegistrations(t *testing.T) {
	st := s.newStore(t)
	ids := make([]*identity.Identity, racingRegistrations)
	errs := make([]error, racingRegistrations)
	for i := range ids {
		ids[i] = s.identity("Race@Example.com")
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			<-start
			errs[i] = st.CreateIdentity(t.Context(), ids[i])
		})
	}
	close(start)
	wg.Wait()

	var winners []*identity.Identity
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, ids[i])
		case errors.Is(err, identity.ErrDuplicateIdentifier):
			if _, err := st.GetIdentity(t.Context(), ids[i].ID); !errors.Is(err, identity.ErrNotFound) {
				t.Errorf("losing registration %d is stored (GetIdentity: %v)", i, err)
			}
		default:
			t.Errorf("registration %d: %v; want nil or ErrDuplicateIdentifier", i, err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d registrations won, want exactly 1", len(winners))
	}
	wantOwner(t, st, "race@example.com", winners[0].ID)
}
