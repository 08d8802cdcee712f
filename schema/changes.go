package schema

import "slices"

// Changes says what a change of traits touches.
type Changes struct {
	Identifiers         bool     // the set of password identifiers differs (compared lower-cased)
	VerifiableAddresses bool     // the verifiable address list differs
	RecoveryAddresses   bool     // the recovery address list differs
	ReadOnly            []string // dotted field names ("traits.plan") of readOnly traits whose value changed
}

// Protected reports whether the change touches a login identifier, a
// verifiable address or a recovery address, and so needs a privileged
// session (docs/differences.md: stricter than Kratos, which ignores recovery
// addresses).
func (c Changes) Protected() bool {
	return c.Identifiers || c.VerifiableAddresses || c.RecoveryAddresses
}

// Compare tells what changing the traits from old to new touches. A
// readOnly trait counts as changed when its JSON value differs, or when it
// is present on one side only; numbers compare by value.
func (s *Schema) Compare(old, new any) Changes {
	var c Changes
	c.Identifiers = !slices.Equal(s.Identifiers(old), s.Identifiers(new))
	oldV, oldR := s.Addresses(old)
	newV, newR := s.Addresses(new)
	c.VerifiableAddresses = !slices.Equal(oldV, newV)
	c.RecoveryAddresses = !slices.Equal(oldR, newR)
	for _, f := range s.fields {
		if !f.ReadOnly {
			continue
		}
		a, inOld := lookup(old, f.Path)
		b, inNew := lookup(new, f.Path)
		if inOld != inNew || (inOld && !jsonEqual(a, b)) {
			c.ReadOnly = append(c.ReadOnly, f.Name)
		}
	}
	return c
}

// ChangedFields lists the dotted names ("traits.name.first") of the
// schema's fields whose value differs between old and new traits, present
// on one side only included, in the schema's order. Numbers compare by
// value. It names fields, never values: for events a site receives.
func (s *Schema) ChangedFields(old, new any) []string {
	changed := []string{}
	for _, f := range s.fields {
		a, inOld := lookup(old, f.Path)
		b, inNew := lookup(new, f.Path)
		if inOld != inNew || (inOld && !jsonEqual(a, b)) {
			changed = append(changed, f.Name)
		}
	}
	return changed
}
