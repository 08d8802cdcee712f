package flows

import (
	"context"
	"errors"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// LookupIdentity finds the identity holding the login identifier a user
// (or the admin API's credentials_identifier) gave, in whatever spelling:
// it tries the schema's lookup keys for it in order (its normal form per
// identifier format, then the lower-cased form identifiers were stored in
// before normalisation; see schema.LookupKeys) and returns the first
// identity found. Without one it returns identity.ErrNotFound; an input
// that cannot be an identifier finds nothing.
func (s *Service) LookupIdentity(ctx context.Context, input string) (*identity.Identity, error) {
	for _, key := range s.cfg.Schema.LookupKeys(input) {
		id, err := s.cfg.Store.FindIdentityByIdentifier(ctx, key)
		if !errors.Is(err, identity.ErrNotFound) {
			return id, err
		}
	}
	return nil, identity.ErrNotFound
}
