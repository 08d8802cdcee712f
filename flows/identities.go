package flows

import (
	"slices"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// newIdentity returns an active identity of the configured schema with
// these traits applied.
func (s *Service) NewIdentity(traits map[string]any) *identity.Identity {
	now := s.cfg.Now()
	id := &identity.Identity{ID: identity.NewID(), SchemaID: s.cfg.Schema.ID(), State: identity.IdentityActive, StateChangedAt: now, CreatedAt: now}
	s.ApplyTraits(id, traits)
	return id
}

// applyTraits sets an identity's traits and recomputes what the schema
// derives from them: login identifiers and verifiable and recovery
// addresses. An address that stays keeps its id and verified state (also
// one stored before addresses were normalised, in another spelling).
func (s *Service) ApplyTraits(id *identity.Identity, traits map[string]any) {
	now := s.cfg.Now()
	id.Traits = traits
	id.UpdatedAt = now

	if identifiers := s.cfg.Schema.Identifiers(traits); len(identifiers) > 0 || id.Password != nil {
		if id.Password == nil {
			id.Password = &identity.PasswordCredential{CreatedAt: now}
		}
		if !slices.Equal(id.Password.Identifiers, identifiers) {
			id.Password.Identifiers = identifiers
			id.Password.UpdatedAt = now
		}
	}

	verifiable, recovery := s.cfg.Schema.Addresses(traits)
	va := make([]identity.VerifiableAddress, 0, len(verifiable))
	for _, a := range verifiable {
		i := slices.IndexFunc(id.VerifiableAddresses, func(old identity.VerifiableAddress) bool {
			return schema.NormalizeAddress(old.Value, old.Via) == a.Value && old.Via == a.Via
		})
		if i >= 0 {
			va = append(va, id.VerifiableAddresses[i])
			continue
		}
		va = append(va, identity.VerifiableAddress{ID: identity.NewID(), Value: a.Value, Via: a.Via, Status: "pending", CreatedAt: now, UpdatedAt: now})
	}
	ra := make([]identity.RecoveryAddress, 0, len(recovery))
	for _, a := range recovery {
		i := slices.IndexFunc(id.RecoveryAddresses, func(old identity.RecoveryAddress) bool {
			return schema.NormalizeAddress(old.Value, old.Via) == a.Value && old.Via == a.Via
		})
		if i >= 0 {
			ra = append(ra, id.RecoveryAddresses[i])
			continue
		}
		ra = append(ra, identity.RecoveryAddress{ID: identity.NewID(), Value: a.Value, Via: a.Via, CreatedAt: now, UpdatedAt: now})
	}
	id.VerifiableAddresses, id.RecoveryAddresses = va, ra
}

// setPassword hashes and stores a new password.
func (s *Service) SetPassword(id *identity.Identity, password string) error {
	hash, err := passwords.Hash(password, s.cfg.PasswordCost)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if id.Password == nil {
		id.Password = &identity.PasswordCredential{CreatedAt: now}
	}
	id.Password.HashedPassword, id.Password.UpdatedAt = hash, now
	return nil
}

// setPasswordHash stores an already made password hash.
func (s *Service) setPasswordHash(id *identity.Identity, hash string) {
	now := s.cfg.Now()
	if id.Password == nil {
		id.Password = &identity.PasswordCredential{CreatedAt: now}
	}
	id.Password.HashedPassword, id.Password.UpdatedAt = hash, now
}
