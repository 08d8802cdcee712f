package schema

import (
	"cmp"
	"slices"
	"strings"
)

// Address is a verifiable or recovery address taken from the traits.
type Address struct {
	Value string // lower-cased when Via is "email"
	Via   string // "email" or "sms"
}

// Identifiers returns the password login identifiers in traits: the values
// of every trait marked credentials.password.identifier (each string item,
// for arrays), lower-cased, sorted and without duplicates. Empty strings
// and non-string values are skipped.
func (s *Schema) Identifiers(traits any) []string {
	var out []string
	for _, f := range s.fields {
		if !f.Identifier {
			continue
		}
		for _, v := range stringValues(traits, f.Path) {
			out = append(out, strings.ToLower(v))
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
	if via == "email" {
		value = strings.ToLower(value)
	}
	return Address{Value: value, Via: via}
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
