package schema

import (
	"cmp"
	"slices"
)

// Address is a verifiable or recovery address taken from the traits.
type Address struct {
	Value string // normalised as an email or phone identifier (see NormalizeAddress)
	Via   string // "email" or "sms"
}

// Identifiers returns the password login identifiers in traits: the values
// of every trait marked credentials.password.identifier (each string item,
// for arrays), normalised by the trait's format (NormalizeIdentifier),
// sorted and without duplicates. Empty strings, non-string values and
// values that cannot be normalised (Validate refuses those) are skipped.
func (s *Schema) Identifiers(traits any) []string {
	var out []string
	for _, f := range s.fields {
		if !f.Identifier {
			continue
		}
		for _, v := range stringValues(traits, f.Path) {
			if n, err := NormalizeIdentifier(v, f.Format); err == nil && n != "" {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Addresses returns the verifiable addresses (traits with verification.via)
// and the recovery addresses (traits with recovery.via) in traits, each
// list sorted by via and value, without duplicates. Email addresses are
// lower-cased.
func (s *Schema) Addresses(traits any) (verifiable, recovery []Address) {
	for _, f := range s.fields {
		if f.VerificationVia == "" && f.RecoveryVia == "" {
			continue
		}
		for _, v := range stringValues(traits, f.Path) {
			if f.VerificationVia != "" {
				verifiable = append(verifiable, address(v, f.VerificationVia))
			}
			if f.RecoveryVia != "" {
				recovery = append(recovery, address(v, f.RecoveryVia))
			}
		}
	}
	return sortAddresses(verifiable), sortAddresses(recovery)
}

func address(value, via string) Address {
	return Address{Value: NormalizeAddress(value, via), Via: via}
}

func sortAddresses(a []Address) []Address {
	slices.SortFunc(a, func(x, y Address) int {
		return cmp.Or(cmp.Compare(x.Via, y.Via), cmp.Compare(x.Value, y.Value))
	})
	return slices.Compact(a)
}

// stringValues returns the non-empty string value at path, or the
// non-empty string items of the array there.
func stringValues(traits any, path []string) []string {
	v, ok := lookup(traits, path)
	if !ok {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case string:
		if v != "" {
			out = append(out, v)
		}
	case []any:
		for _, item := range v {
			if str, ok := item.(string); ok && str != "" {
				out = append(out, str)
			}
		}
	}
	return out
}
