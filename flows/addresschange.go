package flows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/codes"
	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/negotiate"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/text"
)

// A settings change that replaces an address (a verification or recovery
// address) is held until the new address is verified (Config.
// VerifyAddressChanges; Kratos master's verify_new_address): the identity
// keeps its traits, addresses and login identifiers, and carries the change
// as identity.PendingChange. A verification flow sends a code to the new
// address, and the old one is told. When the code is entered the change is
// applied in one identity write (identifier index included), the new
// address is verified, and the old one is told it was replaced.
//
// The pending change holds the whole submission: other traits edited with
// the address change with it, or not at all. It is dropped when another
// change of the identity came first (traits hash), when the session that
// asked is gone, when it is cancelled (a settings submit, method profile,
// pending_change=cancel) and when a new one replaces it.

// holdAddressChange holds a privileged profile change that adds an address,
// instead of saving it. ok is false when the change is none of its
// business (the feature is off, the change adds no address); then the
// caller saves it as usual. On held, updated is the identity as stored,
// carrying the pending change.
func (s stateMachine) holdAddressChange(ctx context.Context, f *identity.Flow, sess *identity.Session, id, updated *identity.Identity, ch change) (o outcome, ok bool, err error) {
	if !s.cfg.Verification || !s.cfg.VerifyAddressChanges || ch.legacy || ch.method != "profile" {
		return 0, false, nil
	}
	added, removed := addressChanges(id, updated)
	switch {
	case len(added) == 0:
		return 0, false, nil
	case len(added) > 1:
		f.UI.Messages = []text.Message{text.OneAddressAtATime()}
		return invalid, true, nil
	}
	owner, err := s.identityForAddress(ctx, added[0])
	if err != nil {
		return 0, true, err
	}
	if owner != nil && owner.ID != id.ID {
		f.UI.Messages = []text.Message{msgDuplicate}
		return invalid, true, nil
	}
	now := s.cfg.Now()
	pending := cloneIdentity(id)
	pending.UpdatedAt = now
	pending.PendingChange = &identity.PendingChange{
		Traits: updated.Traits, Address: added[0], Previous: removed,
		SessionID: sess.ID, SettingsFlowID: f.ID, VerificationFlowID: identity.NewIDFor(id.ID),
		TraitsHash: traitsHash(id.Traits), CreatedAt: now,
	}
	f.UI.Messages = []text.Message{text.AddressChangePending(added[0])}
	f.IdentityVersion = id.Version + 1
	err = s.cfg.Store.UpdateIdentityAndFlow(ctx, id, pending, f)
	if errors.Is(err, identity.ErrVersionConflict) {
		f.IdentityVersion = id.Version
		latest, gerr := s.cfg.Store.GetIdentity(ctx, id.ID)
		if gerr != nil {
			return 0, true, gerr
		}
		s.resetToStored(f, latest)
		return conflict, true, nil
	}
	if err != nil {
		return 0, true, err
	}
	*updated = *pending
	return held, true, nil
}

// addressChanges are the addresses (verification and recovery) updated
// has and stored has not, and the other way round.
func addressChanges(stored, updated *identity.Identity) (added, removed []string) {
	before, after := addressSet(stored), addressSet(updated)
	for _, a := range after {
		if !slices.Contains(before, a) {
			added = append(added, a)
		}
	}
	for _, a := range before {
		if !slices.Contains(after, a) {
			removed = append(removed, a)
		}
	}
	return added, removed
}

func addressSet(id *identity.Identity) []string {
	var out []string
	for _, a := range id.VerifiableAddresses {
		if a.Via == codes.ViaEmail && !slices.Contains(out, a.Value) {
			out = append(out, a.Value)
		}
	}
	for _, a := range id.RecoveryAddresses {
		if a.Via == codes.ViaEmail && !slices.Contains(out, a.Value) {
			out = append(out, a.Value)
		}
	}
	return out
}

// traitsHash is the SHA-256 of the traits' JSON (keys sorted).
func traitsHash(traits map[string]any) string {
	raw, _ := json.Marshal(traits)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// sendAddressChangeHeld starts the verification of a held change's new
// address and answers the settings submit: JSON callers get the settings
// flow (the pending message, continue_with show_verification_ui), browsers
// the verification UI.
func (s settingsFlow) sendAddressChangeHeld(w http.ResponseWriter, r *http.Request, f *identity.Flow, id *identity.Identity) error {
	vf, err := s.startAddressVerification(w, r, f, id)
	if err != nil {
		return s.failer(f.Type)(err)
	}
	ui := s.site.VerificationUI(r)
	if f.Type != identity.TypeAPI && !negotiate.WantsJSON(r) {
		uiRedirect(w, ui, vf.ID)
		return nil
	}
	item := wire.ContinueWith{Action: "show_verification_ui", Flow: &wire.ContinueWithFlow{ID: vf.ID, VerifiableAddress: id.PendingChange.Address}}
	if f.Type == identity.TypeBrowser {
		item.Flow.URL = siteurl.WithQuery(ui, "flow", vf.ID)
	}
	out := s.flowJSON(r, f, id)
	out.ContinueWith = []wire.ContinueWith{item}
	reply.JSON(w, http.StatusOK, out)
	return nil
}

// startAddressVerification makes the verification flow of id's pending
// change (in sent_email, with a resend button), mails its code to the new
// address and the notice to the addresses it would replace.
func (s *Service) startAddressVerification(w http.ResponseWriter, r *http.Request, settings *identity.Flow, id *identity.Identity) (*identity.Flow, error) {
	p := id.PendingChange
	vf := s.newCodeFlow(r, identity.KindVerification, settings.Type, settings.ReturnTo)
	vf.ID, vf.IdentityID, vf.State = p.VerificationFlowID, id.ID, identity.StateSentEmail
	vf.UI.Action = s.flowAction(r, identity.KindVerification, vf.ID)
	vf.UI.Nodes = sentEmailNodes(vf.Kind, p.Address, true)
	vf.UI.Messages = []text.Message{text.VerificationCodeSent()}
	s.renewCSRF(w, r, vf)
	if err := s.cfg.Store.SaveFlow(r.Context(), vf); err != nil {
		return nil, err
	}
	if err := s.sendCode(r.Context(), vf, id, p.Address, verificationFlow{s}.verificationMail(r, vf, p.Address)); err != nil {
		return nil, err
	}
	s.notifyAddresses(r, p.Previous, identity.TemplateAddressChangeRequested)
	return vf, nil
}

// notifyAddresses queues a notice of template typ to each address, after
// the answer. A notice that cannot be queued is only logged.
func (s *Service) notifyAddresses(r *http.Request, addresses []string, typ string) {
	lang, now := s.mailLang(r), s.cfg.Now()
	for _, a := range addresses {
		m := &identity.Message{Recipient: a, TemplateType: typ, Lang: lang, TemplateData: map[string]any{
			"To": a, "ChangedAt": now, "RequestURL": s.requestURL(r),
		}}
		s.background(r.Context(), func(ctx context.Context) {
			if err := s.cfg.Store.QueueMessage(ctx, m); err != nil {
				s.cfg.Logger.Error("address notice not queued", zap.String("template", typ), zap.Error(err))
			}
		})
	}
}

// pendingChangeFor returns the identity whose pending change verification
// flow f verifies, or nil.
func (s *Service) pendingChangeFor(ctx context.Context, f *identity.Flow) (*identity.Identity, error) {
	if f.IdentityID == "" {
		return nil, nil
	}
	id, err := s.cfg.Store.GetIdentity(ctx, f.IdentityID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil
	}
	if err != nil || id.PendingChange == nil || id.PendingChange.VerificationFlowID != f.ID {
		return nil, err
	}
	return id, nil
}

// applyAddressChange applies the pending change that verification flow f
// verifies, once its code (for address) was accepted. It reports whether
// f is the flow of an address change at all, and msg is the error the user
// sees when the change could not be applied (it is dropped then): it was
// cancelled or replaced, the session that asked is gone, the identity
// changed since, or the address was taken meanwhile.
func (s *Service) applyAddressChange(r *http.Request, f *identity.Flow, address string) (pending bool, msg *text.Message, err error) {
	if f.IdentityID == "" {
		return false, nil, nil
	}
	ctx := r.Context()
	gone := text.VerificationCodeInvalid()
	for range 3 {
		id, err := s.cfg.Store.GetIdentity(ctx, f.IdentityID)
		if errors.Is(err, identity.ErrNotFound) {
			return true, &gone, nil
		}
		if err != nil {
			return true, nil, err
		}
		p := id.PendingChange
		if p == nil || p.VerificationFlowID != f.ID {
			return true, &gone, nil
		}
		if !strings.EqualFold(p.Address, address) {
			// A code for another address typed into this flow verifies
			// that address, as usual.
			return false, nil, nil
		}
		updated := cloneIdentity(id)
		updated.PendingChange = nil
		now := s.cfg.Now()
		stale, err := s.pendingChangeStale(ctx, id)
		if err != nil {
			return true, nil, err
		}
		if !stale {
			s.ApplyTraits(updated, p.Traits)
			codes.MarkVerified(updated, address, now)
		}
		updated.UpdatedAt = now
		err = s.cfg.Store.UpdateIdentity(ctx, updated)
		switch {
		case errors.Is(err, identity.ErrVersionConflict):
			continue
		case errors.Is(err, identity.ErrDuplicateIdentifier):
			s.dropPendingChange(ctx, id.ID, f.ID)
			m := msgDuplicate
			return true, &m, nil
		case err != nil:
			return true, nil, err
		case stale:
			return true, &gone, nil
		}
		s.notifyAddresses(r, p.Previous, identity.TemplateAddressChanged)
		s.Emit(ctx, events.Event{Name: events.IdentityUpdated, IdentityID: id.ID, SessionID: p.SessionID, Flow: identity.KindSettings, Method: "profile",
			Changed: s.cfg.Schema.ChangedFields(id.Traits, updated.Traits)})
		s.Emit(ctx, events.Event{Name: events.AddressVerified, IdentityID: id.ID, Flow: identity.KindVerification, Method: "code"})
		return true, nil, nil
	}
	return true, nil, identity.ErrVersionConflict
}

// pendingChangeStale reports whether id's pending change may no longer be
// applied: the session that asked is gone, inactive or not id's, or the
// traits changed since it was asked for.
func (s *Service) pendingChangeStale(ctx context.Context, id *identity.Identity) (bool, error) {
	p := id.PendingChange
	if traitsHash(id.Traits) != p.TraitsHash {
		return true, nil
	}
	sess, err := s.cfg.Store.GetSessionByID(ctx, p.SessionID)
	if errors.Is(err, identity.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return sess.IdentityID != id.ID || !sess.IsActive(s.cfg.Now()), nil
}

// dropStalePendingChange drops id's pending change when it can no longer
// be applied (pendingChangeStale), so a new settings flow does not show
// it, and returns the identity as stored. It costs a read only while a
// change is pending.
func (s *Service) dropStalePendingChange(ctx context.Context, id *identity.Identity) (*identity.Identity, error) {
	if id.PendingChange == nil {
		return id, nil
	}
	stale, err := s.pendingChangeStale(ctx, id)
	if err != nil || !stale {
		return id, err
	}
	s.dropPendingChange(ctx, id.ID, id.PendingChange.VerificationFlowID)
	return s.cfg.Store.GetIdentity(ctx, id.ID)
}

// dropPendingChange clears identity's pending change if it is still the one
// verification flow flowID verifies ("": any).
func (s *Service) dropPendingChange(ctx context.Context, identityID, flowID string) {
	s.updateAddresses(ctx, identityID, func(id *identity.Identity) bool {
		if id.PendingChange == nil || (flowID != "" && id.PendingChange.VerificationFlowID != flowID) {
			return false
		}
		id.PendingChange = nil
		return true
	})
}

// pendingChangeNotice puts the pending change's message on the form of a
// settings flow shown to its identity (none when no change is pending).
func pendingChangeNotice(ui *identity.UI, id *identity.Identity) {
	if id == nil || id.PendingChange == nil {
		return
	}
	m := text.AddressChangePending(id.PendingChange.Address)
	for _, have := range ui.Messages {
		if have.ID == m.ID {
			return
		}
	}
	ui.Messages = append(slices.Clip(ui.Messages), m)
}

// pendingChangeCancel reads a profile submission's pending_change field:
// "cancel" cancels the pending address change; nothing else is accepted.
func pendingChangeCancel(b *body.Body) (bool, error) {
	if !b.Has("pending_change") {
		return false, nil
	}
	v, err := b.Str("pending_change")
	if err != nil {
		return false, err
	}
	if v != "cancel" {
		return false, apierror.BadRequest("pending_change: expected cancel, got %q", v)
	}
	return true, nil
}

// cancelAddressChange answers a settings submit that cancels the
// identity's pending address change: the flow, with a message.
func (s settingsFlow) cancelAddressChange(w http.ResponseWriter, r *http.Request, f *identity.Flow, id *identity.Identity) error {
	ctx := r.Context()
	form.ClearMessages(&f.UI)
	f.Active, f.UpdatedAt, f.State = "profile", s.cfg.Now(), identity.StateShowForm
	f.UI.Messages = []text.Message{text.AddressChangeCancelled()}
	var err error
	if id.PendingChange == nil {
		err = s.cfg.Store.SaveFlow(ctx, f)
	} else {
		updated := cloneIdentity(id)
		updated.PendingChange, updated.UpdatedAt = nil, s.cfg.Now()
		f.IdentityVersion = id.Version + 1
		if err = s.cfg.Store.UpdateIdentityAndFlow(ctx, id, updated, f); err == nil {
			id = updated
		}
	}
	if errors.Is(err, identity.ErrVersionConflict) {
		// The identity changed meanwhile: show it as stored.
		latest, gerr := s.cfg.Store.GetIdentity(ctx, id.ID)
		if gerr != nil {
			return s.failer(f.Type)(gerr)
		}
		stateMachine(s).resetToStored(f, latest)
		if err = s.cfg.Store.SaveFlow(ctx, f); err == nil {
			s.sendFormResult(w, r, f, latest, http.StatusConflict, s.site.SettingsUI(r))
			return nil
		}
	}
	if err != nil {
		return s.failer(f.Type)(err)
	}
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, "cancelled")
	s.sendFormResult(w, r, f, id, http.StatusOK, s.site.SettingsUI(r))
	return nil
}
