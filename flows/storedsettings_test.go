package flows

import (
	"encoding/json"
	"testing"
)

// TestSettingsFormNotStored: an API settings flow is stored as the traits
// its form shows, not the form, at its init and after a saved change; it
// is answered with the form all the same (a fetch is byte for byte the
// init's answer), and a form with messages on its nodes is stored whole.
func TestSettingsFormNotStored(t *testing.T) {
	e := newFlowEnv(t)
	ada := e.addIdentity(adaEmail)
	api := e.newClient(callerAPI)
	api.signIn(e.addSession(ada))
	base := DefaultPublicPrefix + "/self-service/settings"

	stored := func(id string) (nodes int, traits string) {
		t.Helper()
		f, err := e.store.GetFlow(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return len(f.UI.Nodes), string(f.FormTraits)
	}

	init := api.get(base + "/api")
	if init.Code != 200 || len(init.doc.UI.Nodes) == 0 {
		t.Fatalf("settings init: %d %s", init.Code, init.Body)
	}
	if n, traits := stored(init.doc.ID); n != 0 || traits == "" {
		t.Errorf("the new flow is stored with %d nodes and form traits %q, want none and its traits", n, traits)
	}
	fetch := api.get(base + "/flows?id=" + init.doc.ID)
	if fetch.Code != 200 || fetch.Body.String() != init.Body.String() {
		t.Errorf("fetched: %d\n%s\nwant the init's answer\n%s", fetch.Code, fetch.Body, init.Body)
	}

	saved := api.submit(&init.doc.seenFlow, map[string]string{"method": "profile", "traits.email": adaEmail, "traits.name.first": "Augusta"})
	if saved.Code != 200 || saved.doc.nodeValue("traits.name.first") != "Augusta" {
		t.Fatalf("submit: %d %s", saved.Code, saved.Body)
	}
	n, traits := stored(init.doc.ID)
	var got map[string]any
	_ = json.Unmarshal([]byte(traits), &got)
	if n != 0 || traitAt(got, "name", "first") != "Augusta" {
		t.Errorf("the saved flow is stored with %d nodes and form traits %s, want none and the saved traits", n, traits)
	}
	fetch = api.get(base + "/flows?id=" + init.doc.ID)
	if fetch.Code != 200 || fetch.doc.nodeValue("traits.name.first") != "Augusta" || len(fetch.doc.UI.Nodes) != len(saved.doc.UI.Nodes) {
		t.Errorf("the saved flow fetched: %d %s", fetch.Code, fetch.Body)
	}

	bad := api.submit(&fetch.doc.seenFlow, map[string]string{"method": "profile", "traits.email": "not an address"})
	if bad.Code != 400 {
		t.Fatalf("invalid submit: %d %s", bad.Code, bad.Body)
	}
	if n, traits := stored(init.doc.ID); n == 0 || traits != "" {
		t.Errorf("a form with messages is stored with %d nodes and form traits %q, want whole", n, traits)
	}
}

// traitAt walks keys through decoded JSON.
func traitAt(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}
