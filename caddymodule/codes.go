package caddymodule

import (
	"fmt"
	"strings"

	"github.com/seed06f30684/caddy-kratos/schema"
)

// minSecretLen is the shortest secret the codes may be keyed with.
const minSecretLen = 16

// validateCodes checks the options of verification and recovery: they
// send codes, so they need a courier (on the public handler), and secrets
// long enough to key them; held address changes need verification.
func (h *Handler) validateCodes() error {
	if !h.Admin && h.Courier == nil {
		for _, o := range []struct {
			name string
			on   *bool
		}{{"verification", h.Verification}, {"recovery", h.Recovery}} {
			if o.on != nil && *o.on {
				return fmt.Errorf("%s: on, but no courier to send its codes; add a courier block (smtp, or mailbox for development) or set '%s off'", o.name, o.name)
			}
		}
	}
	if h.VerifyAddressChanges != nil && *h.VerifyAddressChanges && (h.Verification == nil || !*h.Verification) {
		return fmt.Errorf("verify_address_changes: on, but verification is off; the code for a new address is sent by the verification flow, so turn verification on (it needs a courier) or set 'verify_address_changes off'")
	}
	for i, s := range h.Secrets {
		if len(s) < minSecretLen {
			return fmt.Errorf("secrets: secret %d is %d characters long (after placeholders); expected at least %d, e.g. from openssl rand -hex 32", i+1, len(s), minSecretLen)
		}
	}
	return nil
}

// secretBytes are the secrets as keys.
func secretBytes(secrets []string) [][]byte {
	var out [][]byte
	for _, s := range secrets {
		out = append(out, []byte(s))
	}
	return out
}

// addressLookupProblem says when the schema has verification or recovery
// addresses that are not login identifiers: codes are only sent to
// addresses found through the identifiers.
func addressLookupProblem(sch *schema.Schema) string {
	var names []string
	for _, f := range sch.Fields() {
		if (f.VerificationVia != "" || f.RecoveryVia != "") && !f.Identifier {
			names = append(names, f.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "the traits " + strings.Join(names, ", ") + " are verification or recovery addresses but not login identifiers (credentials.password.identifier: true); verification and recovery find addresses through the identifiers, so they will answer as for an unknown address"
}
