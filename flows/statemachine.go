package flows

import (
	"context"
	"errors"
	"slices"

	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/form"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/schema"
	"github.com/seed06f30684/caddy-kratos/text"
)

// stateMachine moves settings flows and legacy profile requests from one
// state to the next (see lifecycle.go for the diagram).
type stateMachine struct{ *Service }

// The state machine of settings flows and legacy profile requests: one
// transition function, `submit`, for both API generations and for
// browser, SPA and API callers. The HTTP handlers only decode the request
// into a change and encode the outcome (see lifecycle.go for the diagram).

// outcome is where a submitted change leaves its flow.
type outcome int

const (
	// saved: state success; the identity was updated.
	saved outcome = iota
	// invalid: state show_form, with errors on the form.
	invalid
	// conflict: state show_form; the identity changed since the form was
	// built, so the form now shows the stored values.
	conflict
	// refreshRequired: paused; a protected change on a session that is
	// not privileged. The flow keeps the submitted values.
	refreshRequired
	// expired: the flow is past its expiry; nothing changed.
	expired
	// held: state show_form; a change of an address waits for the new
	// address to be verified (addresschange.go). The identity was stored
	// with the pending change.
	held
)

// result is the outcome's word in metrics.
func (o outcome) result() string {
	return [...]string{"success", "invalid", "conflict", "refresh_required", "expired", "held"}[o]
}

// change is one submitted change to a flow's identity.
type change struct {
	method string         // "profile" or "password"
	traits map[string]any // the profile method's traits
	// traitsAbsent: the profile method's submission had no traits field
	// at all (as opposed to empty traits).
	traitsAbsent bool
	password     string // the password method's password
	// passwordHash replaces password when a paused browser submission is
	// replayed (settings.go): the hash made when it was paused, after the
	// password passed the policy. The cleartext is never stored.
	passwordHash string
	// legacy applies the seed API's rules: protected traits cannot change
	// at all (rather than asking for a recent login), errors carry the
	// seed's wording.
	legacy bool
	// cancelPending: the submission cancels the identity's pending
	// address change (addresschange.go) and changes nothing else.
	cancelPending bool
}

// submit applies a change to a flow owned by sess's identity id. It
// updates the flow's state, form values and messages, stores the flow
// (except when expired) and, when the outcome is saved, the identity, which
// it returns. When the outcome is refreshRequired it returns the identity as
// the change would save it (not stored), so a paused submission can keep
// what it needs, such as the new password's hash, instead of the request.
func (s stateMachine) submit(ctx context.Context, f *identity.Flow, sess *identity.Session, id *identity.Identity, ch change) (outcome, *identity.Identity, error) {
	if f.Expired(s.cfg.Now()) {
		s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, expired.result())
		return expired, nil, nil
	}
	o, updated, err := s.transition(ctx, f, sess, id, ch)
	if err != nil {
		return 0, nil, err
	}
	s.cfg.Metrics.FlowSubmitted(f.Kind, f.Type, o.result())
	if o != saved && o != held {
		if o != refreshRequired {
			updated = nil
		}
		return o, updated, s.cfg.Store.SaveFlow(ctx, s.storedSettingsFlow(f))
	}
	return o, updated, nil
}

func (s stateMachine) transition(ctx context.Context, f *identity.Flow, sess *identity.Session, id *identity.Identity, ch change) (outcome, *identity.Identity, error) {
	form.ClearMessages(&f.UI)
	f.Active, f.UpdatedAt, f.State = ch.method, s.cfg.Now(), identity.StateShowForm

	updated := cloneIdentity(id)
	var protected bool
	switch {
	case ch.method == "password" && ch.passwordHash != "":
		// A replayed pause: the password passed the policy before it was
		// hashed and paused, against these identifiers (a change of the
		// identity since then is a version conflict below).
		protected = true
		s.setPasswordHash(updated, ch.passwordHash)
	case ch.method == "password":
		protected = true
		if i := form.Index(f.UI.Nodes, "password"); i >= 0 {
			if m := passwords.Policy(ch.password, updated.Identifiers()); m != nil {
				f.UI.Nodes[i].Messages = append(f.UI.Nodes[i].Messages, *m)
			}
		}
		if !hasMessages(f.UI) {
			if err := s.SetPassword(updated, ch.password); err != nil {
				return 0, nil, err
			}
		}
	default:
		protected = s.changeTraits(f, id, updated, ch)
	}

	switch {
	case hasMessages(f.UI):
		return invalid, nil, nil
	case f.IdentityVersion != id.Version:
		s.resetToStored(f, id)
		return conflict, nil, nil
	case protected && !sess.IsPrivileged(s.cfg.Now(), s.cfg.PrivilegedSessionMaxAge):
		f.Paused = s.protectedChanges(id, updated, ch)
		return refreshRequired, updated, nil
	}
	f.Paused = nil
	if o, ok, err := s.holdAddressChange(ctx, f, sess, id, updated, ch); ok || err != nil {
		return o, updated, err
	}
	done := s.changeEvent(id, updated, sess, ch)
	if refused := s.gate(ctx, done); refused != nil {
		f.UI.Messages = []text.Message{*refused}
		return invalid, nil, nil
	}

	f.State = identity.StateSuccess
	if !ch.legacy {
		f.UI.Messages = []text.Message{text.SettingsSaved()}
	}
	// The flow is written with the identity, already matching its next
	// version (always one more): one read and one write for a submit.
	f.IdentityVersion = updated.Version + 1
	err := s.cfg.Store.UpdateIdentityAndFlow(ctx, id, updated, s.storedSettingsFlow(f))
	if err != nil {
		f.IdentityVersion = id.Version
	}
	switch {
	case errors.Is(err, identity.ErrDuplicateIdentifier):
		f.State, f.UI.Messages = identity.StateShowForm, []text.Message{msgDuplicate}
		return invalid, nil, nil
	case errors.Is(err, identity.ErrVersionConflict):
		latest, gerr := s.cfg.Store.GetIdentity(ctx, id.ID)
		if gerr != nil {
			return 0, nil, gerr
		}
		f.State = identity.StateShowForm
		s.resetToStored(f, latest)
		return conflict, nil, nil
	case err != nil:
		return 0, nil, err
	}
	s.Emit(ctx, done)
	if ch.method == "password" && s.cfg.RevokeOtherSessionsOnPasswordChange {
		n, err := s.cfg.Store.DeleteSessions(ctx, id.ID, sess.ID)
		if err != nil {
			return 0, nil, err
		}
		for range n {
			s.cfg.Metrics.SessionRevoked()
		}
		if n > 0 {
			s.Emit(ctx, events.Event{Name: events.SessionRevoked, IdentityID: id.ID, Flow: done.Flow, Reason: "password_changed"})
		}
	}
	return saved, updated, nil
}

// protectedChanges names what a protected change changes: "password", or
// the login identifier, verifiable and recovery address traits whose value
// differs.
func (s stateMachine) protectedChanges(id, updated *identity.Identity, ch change) []string {
	if ch.method == "password" {
		return []string{"password"}
	}
	var out []string
	changed := s.cfg.Schema.ChangedFields(id.Traits, updated.Traits)
	for _, f := range s.cfg.Schema.Fields() {
		if (f.Identifier || f.VerificationVia != "" || f.RecoveryVia != "") && slices.Contains(changed, f.Name) {
			out = append(out, f.Name)
		}
	}
	return out
}

// changeEvent is the event of a change about to be saved: a password
// change, or an identity update with the paths of the changed traits.
func (s stateMachine) changeEvent(id, updated *identity.Identity, sess *identity.Session, ch change) events.Event {
	flow := identity.KindSettings
	if ch.legacy {
		flow = identity.KindProfile
	}
	if ch.method == "password" {
		return events.Event{Name: events.PasswordChanged, IdentityID: id.ID, SessionID: sess.ID, Flow: flow, Method: "password"}
	}
	return events.Event{Name: events.IdentityUpdated, IdentityID: id.ID, SessionID: sess.ID, Flow: flow, Method: ch.method,
		Changed: s.cfg.Schema.ChangedFields(id.Traits, updated.Traits)}
}

// changeTraits puts the submitted traits on the form and into `updated`,
// with every problem as a form message, and reports whether the change is
// protected.
func (s stateMachine) changeTraits(f *identity.Flow, stored, updated *identity.Identity, ch change) bool {
	sch := s.cfg.Schema
	if len(ch.traits) == 0 && (ch.legacy || !ch.traitsAbsent) {
		// Traits sent empty: nothing to change. Traits not sent at all
		// (settings flow) are validated as empty, as Kratos does: each
		// required trait is missing.
		f.UI.Messages = []text.Message{msgNoChanges}
		return false
	}
	if ch.traits == nil {
		ch.traits = map[string]any{}
	}
	keepLocked(sch, ch.traits, stored.Traits, ch.legacy)
	form.SetTraitValues(f.UI.Nodes, sch, ch.traits)
	errs := sch.Validate(ch.traits)
	if ch.legacy {
		errs = legacyFieldErrors(errs)
	}
	f.UI.Nodes = form.AttachErrors(f.UI.Nodes, identity.GroupProfile, errs)
	f.UI.Nodes = form.AttachErrors(f.UI.Nodes, identity.GroupProfile, lockedChangeErrors(sch, stored.Traits, ch.traits, ch.legacy))
	s.ApplyTraits(updated, ch.traits)
	return sch.Compare(stored.Traits, ch.traits).Protected()
}

// locked reports whether a trait may not be changed through this API:
// read-only traits never, protected ones (login identifiers, verification
// and recovery addresses) not through the legacy API.
func locked(f schema.Field, legacy bool) bool {
	return f.ReadOnly || (legacy && (f.Identifier || f.VerificationVia != "" || f.RecoveryVia != ""))
}

// keepLocked puts back locked traits a form left out: they are shown
// disabled, and browsers do not submit disabled inputs.
func keepLocked(sch *schema.Schema, traits, stored map[string]any, legacy bool) {
	for _, f := range sch.Fields() {
		if !locked(f, legacy) {
			continue
		}
		if _, sent := form.ValueAt(traits, f.Path); sent {
			continue
		}
		if v, ok := form.ValueAt(stored, f.Path); ok {
			setAt(traits, f.Path, v)
		}
	}
}

// lockedChangeErrors are the errors of locked traits whose value changed.
func lockedChangeErrors(sch *schema.Schema, stored, traits map[string]any, legacy bool) []schema.FieldError {
	var errs []schema.FieldError
	for _, f := range sch.Fields() {
		if !locked(f, legacy) {
			continue
		}
		old, _ := form.ValueAt(stored, f.Path)
		cur, _ := form.ValueAt(traits, f.Path)
		if jsonEqual(old, cur) {
			continue
		}
		reason := "Can only be changed by an administrator"
		if !f.ReadOnly {
			reason = "Can only be changed through the settings flow after a recent login"
		}
		errs = append(errs, schema.FieldError{Field: f.Name, Keyword: "readOnly", ID: text.ErrorValidationGeneric, Text: reason,
			Context: map[string]any{"reason": reason, wire.LegacyTextKey: f.Name + ": " + reason}})
	}
	return errs
}

// resetToStored shows the stored identity on the form after a conflict,
// with a message; the next submit is checked against this version.
func (s stateMachine) resetToStored(f *identity.Flow, id *identity.Identity) {
	form.ClearMessages(&f.UI)
	form.SetTraitValues(f.UI.Nodes, s.cfg.Schema, id.Traits)
	f.UI.Messages = []text.Message{msgConflict}
	f.IdentityVersion = id.Version
}
