package storetest

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/text"
)

// fullFlow is a flow with every field set, as JSON (so that it has every
// field whatever the Go type gains), with node values of every JSON type.
const fullFlow = `{
  "id": "", "kind": "settings", "type": "browser", "state": "show_form",
  "issued_at": "2026-01-02T03:04:05.123456789Z", "expires_at": "2026-01-02T04:04:05Z", "updated_at": "2026-01-02T03:14:05Z",
  "request_url": "https://example.com/self-service/settings/browser?return_to=%2Fhome",
  "return_to": "https://example.com/home", "active": "profile",
  "identity_id": "", "identity_version": 3, "csrf_token_hash": "c3a1", "refresh": true,
  "error": {"code": 500, "message": "boom", "details": {"retry": false}},
  "ui": {
    "action": "https://example.com/self-service/settings?flow=x", "method": "POST",
    "messages": [{"id": 1050001, "text": "Your changes have been saved!", "type": "success"}],
    "nodes": [
      {"type": "input", "group": "default",
       "attributes": {"name": "csrf_token", "type": "hidden", "value": "t0k3n", "required": true, "disabled": false, "node_type": "input"},
       "messages": [], "meta": {}},
      {"type": "input", "group": "profile",
       "attributes": {"name": "traits.email", "type": "email", "value": "Ada@Example.com", "autocomplete": "email", "disabled": true, "node_type": "input"},
       "messages": [{"id": 4000002, "text": "Property email is missing.", "type": "error", "context": {"property": "email", "limit": 5, "strict": true, "path": ["traits", "email"]}}],
       "meta": {"label": {"id": 1070002, "text": "E-Mail", "type": "info", "context": {"title": "E-Mail"}}}},
      {"type": "input", "group": "profile",
       "attributes": {"name": "traits.age", "type": "number", "value": 42, "pattern": "[0-9]+", "maxlength": 3, "disabled": false, "node_type": "input"},
       "messages": [], "meta": {}},
      {"type": "input", "group": "profile",
       "attributes": {"name": "traits.newsletter", "type": "checkbox", "value": true, "disabled": false, "node_type": "input"},
       "messages": [], "meta": {}},
      {"type": "input", "group": "profile",
       "attributes": {"name": "traits.address", "type": "text", "value": {"city": "London", "zip": 1234.5}, "disabled": false, "node_type": "input"},
       "messages": [], "meta": {}},
      {"type": "input", "group": "profile",
       "attributes": {"name": "traits.tags", "type": "text", "value": ["x", 2, null], "disabled": false, "node_type": "input"},
       "messages": [], "meta": {}},
      {"type": "input", "group": "password",
       "attributes": {"name": "password", "type": "password", "required": true, "autocomplete": "new-password", "disabled": false, "node_type": "input"},
       "messages": [], "meta": {}}
    ]
  }
}`

// testFlows covers SaveFlow, GetFlow and GetSessionAndFlow.
func (s *suite) testFlows(t *testing.T) {
	t.Run("RoundTrip", s.testFlowRoundTrip)
	t.Run("Replace", s.testReplaceFlow)
	t.Run("Expired", s.testExpiredFlow)
	t.Run("Markers", s.testFlowMarkers)
	t.Run("WithSession", s.testGetSessionAndFlow)
	t.Run("PerIdentityBound", s.testIdentityFlowsBounded)
}

// testIdentityFlowsBounded: an identity's flows beyond MaxIdentityFlows
// push out its oldest; saving one again is no new flow; another identity's
// stay.
func (s *suite) testIdentityFlowsBounded(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice, bob := identity.NewID(), identity.NewID()
	bobs := s.flow(bob)
	wantErr(t, "SaveFlow(bob's)", st.SaveFlow(ctx, bobs), nil)
	var ids []string
	for i := range identity.MaxIdentityFlows {
		f := s.flow(alice)
		f.ExpiresAt = f.ExpiresAt.Add(time.Duration(i) * time.Millisecond)
		wantErr(t, "SaveFlow", st.SaveFlow(ctx, f), nil)
		ids = append(ids, f.ID)
		if i == 0 {
			// Saved again, as after a failed submit: still one flow.
			f.State = identity.StateSuccess
			wantErr(t, "SaveFlow(again)", st.SaveFlow(ctx, f), nil)
		}
	}
	for _, id := range ids {
		_, err := st.GetFlow(ctx, id)
		wantErr(t, "GetFlow(one of the most kept)", err, nil)
	}

	newest := s.flow(alice)
	newest.ExpiresAt = newest.ExpiresAt.Add(time.Second)
	wantErr(t, "SaveFlow(one more)", st.SaveFlow(ctx, newest), nil)
	_, err := st.GetFlow(ctx, ids[0])
	wantErr(t, "GetFlow(the oldest, pushed out)", err, identity.ErrNotFound)
	for _, id := range append(ids[1:], newest.ID, bobs.ID) {
		_, err := st.GetFlow(ctx, id)
		wantErr(t, "GetFlow(kept)", err, nil)
	}

	foreign := s.flow(alice)
	foreign.ID = identity.NewIDFor(otherRoutingKey(alice))
	if err := st.SaveFlow(ctx, foreign); err == nil {
		t.Errorf("SaveFlow(a flow of alice whose id has another routing key) = nil, want an error")
	}
}

func (s *suite) testFlowRoundTrip(t *testing.T) {
	st := s.newStore(t)
	f := new(identity.Flow)
	if err := json.Unmarshal([]byte(fullFlow), f); err != nil {
		t.Fatal(err)
	}
	f.IdentityID = identity.NewID()
	f.ID = identity.NewIDFor(f.IdentityID)
	f.ExpiresAt = s.now().Add(time.Hour)
	want := jsonOf(t, f)
	wantErr(t, "SaveFlow", st.SaveFlow(t.Context(), f), nil)
	f.UI.Nodes[0].Attributes.Value = "changed"

	got, err := st.GetFlow(t.Context(), f.ID)
	wantErr(t, "GetFlow", err, nil)
	wantJSON(t, "flow", want, got)
	// Values come back in their JSON form.
	if v, ok := got.UI.Nodes[2].Attributes.Value.(float64); !ok || v != 42 {
		t.Errorf("number value = %#v, want float64(42)", got.UI.Nodes[2].Attributes.Value)
	}
	if v, ok := got.UI.Nodes[3].Attributes.Value.(bool); !ok || !v {
		t.Errorf("bool value = %#v, want true", got.UI.Nodes[3].Attributes.Value)
	}
	if v, ok := got.UI.Nodes[4].Attributes.Value.(map[string]any); !ok || v["zip"] != 1234.5 {
		t.Errorf("object value = %#v", got.UI.Nodes[4].Attributes.Value)
	}
	if got.UI.Nodes[6].Attributes.Value != nil {
		t.Errorf("absent value = %#v, want nil", got.UI.Nodes[6].Attributes.Value)
	}

	_, err = st.GetFlow(t.Context(), identity.NewID())
	wantErr(t, "GetFlow(unknown)", err, identity.ErrNotFound)
	_, err = st.GetFlow(t.Context(), "")
	wantErr(t, "GetFlow(empty)", err, identity.ErrNotFound)
}

func (s *suite) testReplaceFlow(t *testing.T) {
	st := s.newStore(t)
	f := s.flow("")
	wantErr(t, "SaveFlow", st.SaveFlow(t.Context(), f), nil)
	f.State = identity.StateSuccess
	f.UI.Messages = []text.Message{{ID: 1010001, Text: "Sign in", Type: text.Info}}
	wantErr(t, "SaveFlow again", st.SaveFlow(t.Context(), f), nil)
	got, err := st.GetFlow(t.Context(), f.ID)
	wantErr(t, "GetFlow", err, nil)
	wantJSON(t, "replaced flow", jsonOf(t, f), got)
}

func (s *suite) testExpiredFlow(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	expired := s.flow("")
	expired.ExpiresAt = s.now().Add(-time.Hour)
	expired.ReturnTo, expired.CSRFTokenHash = "https://example.com/back", "c0ffee"
	expiredSettings := s.flow(identity.NewID())
	expiredSettings.ExpiresAt = s.now().Add(-time.Hour)
	// Saved while live, read once expired.
	expiring := s.flow("")
	expiring.ExpiresAt = s.now().Add(short)
	forgotten := s.flow("")
	forgotten.ExpiresAt = s.now().Add(short - identity.FlowGrace)
	gone := s.flow("")
	gone.ExpiresAt = s.now().Add(-identity.FlowGrace - time.Second)
	// A stored error goes when it expires: there is no "expired" to answer.
	errorRecord := s.flow("")
	errorRecord.Kind, errorRecord.ExpiresAt = identity.KindError, s.now().Add(short)
	for _, f := range []*identity.Flow{expired, expiredSettings, expiring, forgotten, gone, errorRecord} {
		wantErr(t, "SaveFlow", st.SaveFlow(ctx, f), nil)
	}
	s.waitPast()

	// An expired flow is still answered, so callers can say "expired": a
	// login (or registration) flow, which anyone can start, as its marker
	// only; a settings flow whole.
	got, err := st.GetFlow(ctx, expired.ID)
	wantErr(t, "GetFlow(expired)", err, nil)
	wantJSON(t, "expired login flow", jsonOf(t, expired.Marker()), got)
	if !got.Expired(s.now()) || got.ReturnTo != expired.ReturnTo || got.CSRFTokenHash != expired.CSRFTokenHash || len(got.UI.Nodes) != 0 {
		t.Errorf("the expired login flow's marker: %+v", got)
	}
	got, err = st.GetFlow(ctx, expiring.ID)
	wantErr(t, "GetFlow(expiring)", err, nil)
	wantJSON(t, "login flow read after it expired", jsonOf(t, expiring.Marker()), got)
	got, err = st.GetFlow(ctx, expiredSettings.ID)
	wantErr(t, "GetFlow(expired settings)", err, nil)
	wantJSON(t, "expired settings flow", jsonOf(t, expiredSettings), got)
	// FlowGrace after its expiry it is gone.
	for _, f := range []*identity.Flow{forgotten, gone, errorRecord} {
		_, err = st.GetFlow(ctx, f.ID)
		wantErr(t, "GetFlow(past grace)", err, identity.ErrNotFound)
	}
}

// testFlowMarkers covers the markers of many flows made together (whose
// ids identity.NewFlowID groups): each answers with its own, whatever the
// others hold, and one past its KeepUntil is gone while the others stay.
func (s *suite) testFlowMarkers(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	var flows []*identity.Flow
	for i := range 250 { // three groups
		f := s.flow("")
		f.ID = identity.NewFlowID(s.now())
		f.ExpiresAt = s.now().Add(-time.Duration(i) * time.Second)
		switch i % 5 {
		case 0:
			f.Type, f.Kind = identity.TypeAPI, identity.KindRegistration
			f.RequestURL = "https://example.com/self-service/registration/api"
		case 1:
			f.CSRFTokenHash = strings.Repeat("0123456789abcdef", 4)
			f.ReturnTo = "https://example.com/back?to=" + strings.Repeat("x", i)
			f.RequestURL += "?return_to=" + url.QueryEscape(f.ReturnTo)
		case 2:
			f.RequestURL = "https://other.example.com/self-service/login/browser" // another base in the group
			f.Refresh = true
		case 3:
			f.RequestURL = "relative"
			f.CSRFTokenHash = "C0FFEE"
		}
		flows = append(flows, f)
		wantErr(t, "SaveFlow", st.SaveFlow(ctx, f), nil)
	}
	forgotten := flows[7]
	forgotten.ExpiresAt = s.now().Add(short - identity.FlowGrace)
	wantErr(t, "SaveFlow again", st.SaveFlow(ctx, forgotten), nil)
	s.waitPast()

	for _, f := range flows {
		got, err := st.GetFlow(ctx, f.ID)
		if f == forgotten {
			wantErr(t, "GetFlow(past grace, its group kept)", err, identity.ErrNotFound)
			continue
		}
		wantErr(t, "GetFlow(expired)", err, nil)
		wantJSON(t, "marker", jsonOf(t, f.Marker()), got)
	}
}

func (s *suite) testGetSessionAndFlow(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	alice := s.identity("a@example.com")
	mustCreate(t, st, alice)
	sess, token := s.session(alice.ID, s.now())
	ended, endedToken := s.session(alice.ID, s.now())
	ended.ExpiresAt = s.now().Add(-time.Minute)
	mustCreateSession(t, st, sess, ended)
	settings := s.flow(alice.ID)
	login := s.flow("") // another routing key: on a cluster, another slot
	expired := s.flow(alice.ID)
	expired.ExpiresAt = s.now().Add(-time.Hour)
	for _, f := range []*identity.Flow{settings, login, expired} {
		wantErr(t, "SaveFlow", st.SaveFlow(ctx, f), nil)
	}

	for _, f := range []*identity.Flow{settings, login, expired} {
		gotS, gotID, gotF, err := st.GetSessionAndFlow(ctx, token, f.ID)
		wantErr(t, "GetSessionAndFlow", err, nil)
		wantJSON(t, "session", jsonOf(t, sess), gotS)
		wantJSON(t, "identity", jsonOf(t, alice), gotID)
		wantJSON(t, "flow", jsonOf(t, f), gotF)
	}

	gotS, gotID, gotF, err := st.GetSessionAndFlow(ctx, token, identity.NewIDFor(alice.ID))
	wantErr(t, "GetSessionAndFlow(unknown flow)", err, nil)
	if gotS == nil || gotID == nil || gotF != nil {
		t.Errorf("GetSessionAndFlow(unknown flow) = %v, %v, %v; want the session, the identity and no flow", gotS, gotID, gotF)
	}
	for name, tok := range map[string]string{"unknown": identity.NewSessionToken(alice.ID), "expired": endedToken, "empty": ""} {
		_, _, _, err := st.GetSessionAndFlow(ctx, tok, settings.ID)
		wantErr(t, "GetSessionAndFlow("+name+" token)", err, identity.ErrNotFound)
	}

	// What it read stays as it was when the identity and the flow change.
	readID, readFlow := jsonOf(t, gotID), jsonOf(t, settings)
	_, _, gotF, err = st.GetSessionAndFlow(ctx, token, settings.ID)
	wantErr(t, "GetSessionAndFlow", err, nil)
	updated := *alice
	updated.Traits = map[string]any{"email": "a@example.com", "name": map[string]any{"first": "Augusta"}}
	wantErr(t, "UpdateIdentity", st.UpdateIdentity(ctx, &updated), nil)
	gotF.State = identity.StateSuccess
	wantJSON(t, "identity read before the update", readID, gotID)
	_, _, again, err := st.GetSessionAndFlow(ctx, token, settings.ID)
	wantErr(t, "GetSessionAndFlow", err, nil)
	wantJSON(t, "flow changed by its reader", readFlow, again)
}
