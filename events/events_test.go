package events

import (
	"context"
	"reflect"
	"testing"
)

func TestDataHasOnlyWhatIsSet(t *testing.T) {
	e := Event{Name: IdentityUpdated, IdentityID: "id", Flow: "settings", Changed: []string{"traits.name.first"}}
	want := map[string]any{"identity_id": "id", "flow": "settings", "changed": []string{"traits.name.first"}}
	if got := e.Data(); !reflect.DeepEqual(got, want) {
		t.Errorf("Data() = %v, want %v", got, want)
	}
}

type counter struct{ n int }

func (c *counter) Emit(context.Context, Event) { c.n++ }

func TestSinksSendToEvery(t *testing.T) {
	a, b := &counter{}, &counter{}
	Sinks{a, Discard{}, b}.Emit(t.Context(), Event{Name: LoginSucceeded})
	if a.n != 1 || b.n != 1 {
		t.Errorf("sinks got %d and %d events", a.n, b.n)
	}
	if err := (Open{}).Check(t.Context(), Event{}); err != nil {
		t.Errorf("Open refused: %v", err)
	}
}
