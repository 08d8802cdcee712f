package identity

import (
	"errors"
	"testing"
	"time"
)

func TestMarkerMalformed(t *testing.T) {
	f := &Flow{ID: NewID(), Kind: KindLogin, Type: TypeAPI, ExpiresAt: time.Now(), ReturnTo: "https://example.com/x"}
	good := EncodeMarker(f, "")
	for _, b := range [][]byte{nil, good[:5], {0, 0, 0, 0, 0, 0, 0, 0, 0}, append([]byte{good[0]}, good[1:9]...)} {
		if _, err := DecodeMarker(f.ID, b, ""); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeMarker(%q) = %v, want ErrCorrupt", b, err)
		}
	}
}

func TestNewFlowIDGroups(t *testing.T) {
	now := time.Now()
	groups := map[string]int{}
	for range 1000 {
		id := NewFlowID(now)
		if !WellFormedID(id) || id[14] != '4' {
			t.Fatalf("NewFlowID = %q, not a UUIDv4", id)
		}
		groups[FlowIDGroup(id)]++
	}
	for g, n := range groups {
		if n > flowGroupSize {
			t.Errorf("group %s has %d ids, want at most %d", g, n, flowGroupSize)
		}
	}
	if len(groups) > 1000/flowGroupSize+1 {
		t.Errorf("%d groups for 1000 ids of one minute", len(groups))
	}
	if FlowIDGroup(NewFlowID(now.Add(time.Minute))) == FlowIDGroup(NewFlowID(now)) {
		t.Errorf("ids of two minutes share a group")
	}
}
