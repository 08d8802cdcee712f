package flows

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/form"
)

// A login or registration flow as its init made it is stored without its
// form, which is most of its size: anyone can start these flows, so the
// store should keep as little of them as it can. loadFlow puts the form
// back, built as the init built it (initialUI). A form that initialUI does
// not build the same is stored whole: one that a submit changed (values,
// messages). A browser flow's masked CSRF token is not kept either: the
// flow keeps the hash of the cookie's token it is bound to, and whatever
// shows a browser flow (the fetch, the pages, a submit's answer) masks the
// cookie's token afresh.

// saveNewFlow stores a flow its init just made, without its form when
// initialUI builds the same one. f itself keeps its form.
func (s *Service) saveNewFlow(ctx context.Context, f *identity.Flow) error {
	if ui, ok := s.initialUI(f); ok && ui.Equal(withoutCSRF(f.UI)) {
		stored := *f
		stored.UI = identity.UI{}
		f = &stored
	}
	return s.cfg.Store.SaveFlow(ctx, f)
}

// withForm puts back the form of a flow stored without it (saveNewFlow).
// An expired flow keeps none: it is only answered as expired.
func (s *Service) withForm(f *identity.Flow) {
	s.withSettingsForm(f)
	if f.UI.Method != "" || f.Expired(s.cfg.Now()) {
		return
	}
	if ui, ok := s.initialUI(f); ok {
		f.UI = ui
	}
}

// initialUI is the form the init of f's kind builds, before any submit,
// with the CSRF token "" (as API flows have it); false for a flow whose
// initial form depends on more than the flow (a refresh login shows the
// signed-in identifier).
func (s *Service) initialUI(f *identity.Flow) (identity.UI, bool) {
	var nodes []identity.Node
	switch {
	case f.Kind == identity.KindLogin && !f.Refresh:
		nodes = append([]identity.Node{form.CSRF("")}, loginFlow{s}.loginNodes(nil, false)...)
	case f.Kind == identity.KindRegistration:
		nodes = registrationFlow{s}.registrationNodes(nil)
	default:
		return identity.UI{}, false
	}
	// The action is on the site the init was asked on: its request URL's.
	path, _, _ := strings.Cut(f.RequestURL, "?")
	i := strings.LastIndex(path, "/self-service/"+f.Kind+"/")
	if i < 0 {
		return identity.UI{}, false
	}
	action := path[:i] + "/self-service/" + f.Kind + "?" + url.Values{"flow": {f.ID}}.Encode()
	return identity.UI{Action: action, Method: "POST", Nodes: nodes}, true
}

// withoutCSRF is a copy of ui whose csrf_token node holds "".
func withoutCSRF(ui identity.UI) *identity.UI {
	ui.Nodes = slices.Clone(ui.Nodes)
	form.SetCSRF(&ui, "")
	return &ui
}

// A settings flow's form is the settings form of the traits it shows (its
// init's, a saved change's, a conflict's stored ones) most of the time. An
// API flow's is then stored as those traits (Flow.FormTraits), which are
// much smaller than the form, and built again when the flow is read. A form with
// messages on its nodes, or a browser flow's (its CSRF token), is stored
// whole.

// storedSettingsFlow is f as the store should keep it: a copy without its
// nodes when settingsFlowForm builds them again from their traits, else f.
func (s *Service) storedSettingsFlow(f *identity.Flow) *identity.Flow {
	if f.Kind != identity.KindSettings || len(f.UI.Nodes) == 0 {
		return f
	}
	traits := map[string]any{}
	for _, n := range f.UI.Nodes {
		if path, ok := strings.CutPrefix(n.Attributes.Name, "traits."); ok && n.Attributes.Value != nil {
			setAt(traits, strings.Split(path, "."), n.Attributes.Value)
		}
	}
	raw, err := json.Marshal(traits)
	if err != nil {
		return f
	}
	nodes, ok := s.settingsFlowForm(raw)
	if !ok || !identity.EqualNodes(nodes, f.UI.Nodes) {
		return f
	}
	stored := *f
	stored.UI.Nodes = nil
	stored.FormTraits = raw
	return &stored
}

// settingsFlowForm is the settings form of traits (JSON), with the CSRF
// token "".
func (s *Service) settingsFlowForm(traits json.RawMessage) ([]identity.Node, bool) {
	var t map[string]any
	if err := json.Unmarshal(traits, &t); err != nil {
		return nil, false
	}
	return settingsFlow{s}.settingsNodes(t), true
}

// withSettingsForm puts back the form of a settings flow stored without it
// (storedSettingsFlow).
func (s *Service) withSettingsForm(f *identity.Flow) {
	if f.Kind != identity.KindSettings || len(f.FormTraits) == 0 {
		return
	}
	if len(f.UI.Nodes) == 0 {
		if nodes, ok := s.settingsFlowForm(f.FormTraits); ok {
			f.UI.Nodes = nodes
		}
	}
	f.FormTraits = nil
}
