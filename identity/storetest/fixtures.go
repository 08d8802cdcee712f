package storetest

import (
	"encoding/json"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/text"
)

// The fixtures build records the way the Service does: session ids and
// settings flow ids share their identity's routing key, and tokens come from
// identity.NewSessionToken.

// identity returns a new identity with these login identifiers (none: no
// password credential) and every field set.
func (s *suite) identity(identifiers ...string) *identity.Identity {
	now := s.now()
	email := "nobody@example.com"
	if len(identifiers) > 0 {
		email = identifiers[0]
	}
	verifiedAt := now.Add(-time.Minute)
	id := &identity.Identity{
		ID:             identity.NewID(),
		SchemaID:       "default",
		State:          identity.IdentityActive,
		StateChangedAt: now,
		Traits: map[string]any{
			"email": email,
			"name":  map[string]any{"first": "Ada", "last": "Lovelace"},
			"age":   36.0,
			"tags":  []any{"a", "b"},
		},
		MetadataPublic: json.RawMessage(`{"plan":"pro"}`),
		MetadataAdmin:  json.RawMessage(`{"note":"vip","score":7}`),
		VerifiableAddresses: []identity.VerifiableAddress{{
			ID: identity.NewID(), Value: email, Verified: true, Via: "email", Status: "completed",
			VerifiedAt: &verifiedAt, CreatedAt: now, UpdatedAt: now,
		}},
		RecoveryAddresses: []identity.RecoveryAddress{{
			ID: identity.NewID(), Value: email, Via: "email", CreatedAt: now, UpdatedAt: now,
		}},
		CreatedAt: now,
		UpdatedAt: now,
	}
	if len(identifiers) > 0 {
		id.Password = &identity.PasswordCredential{
			Identifiers:    identifiers,
			HashedPassword: "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
			CreatedAt:      now,
			UpdatedAt:      now,
		}
	}
	return id
}

// session returns a new session of the identity, issued at issued and
// active for an hour, and its token.
func (s *suite) session(identityID string, issued time.Time) (*identity.Session, string) {
	token := identity.NewSessionToken(identityID)
	return &identity.Session{
		ID:              identity.NewIDFor(identityID),
		IdentityID:      identityID,
		TokenHash:       identity.HashToken(token),
		Active:          true,
		IssuedAt:        issued,
		AuthenticatedAt: issued,
		ExpiresAt:       s.now().Add(time.Hour),
		AAL:             identity.AAL1,
		AuthenticationMethods: []identity.AuthenticationMethod{
			{Method: "password", AAL: identity.AAL1, CompletedAt: issued},
		},
		Devices: []identity.Device{{ID: identity.NewID(), IPAddress: "192.0.2.1", UserAgent: "storetest/1.0", Location: "Berlin, DE"}},
	}, token
}

// flow returns a new settings flow of the identity, or a login flow when
// identityID is empty, expiring in an hour.
func (s *suite) flow(identityID string) *identity.Flow {
	now := s.now()
	f := &identity.Flow{
		ID:         identity.NewID(),
		Kind:       identity.KindLogin,
		Type:       identity.TypeBrowser,
		State:      identity.StateShowForm,
		IssuedAt:   now,
		ExpiresAt:  now.Add(time.Hour),
		UpdatedAt:  now,
		RequestURL: "https://example.com/self-service/login/browser",
		UI: identity.UI{
			Action: "https://example.com/self-service/login?flow=x",
			Method: "POST",
			Nodes: []identity.Node{{
				Type: "input", Group: "default",
				Attributes: identity.InputAttributes{Name: "csrf_token", Type: "hidden", Value: "t0k3n", Required: true, NodeType: "input"},
				Messages:   []text.Message{},
			}},
		},
	}
	if identityID != "" {
		f.ID = identity.NewIDFor(identityID)
		f.Kind = identity.KindSettings
		f.IdentityID = identityID
		f.IdentityVersion = 1
		f.RequestURL = "https://example.com/self-service/settings/browser"
	}
	return f
}

// otherRoutingKey returns a new id whose routing key differs from id's.
func otherRoutingKey(id string) string {
	for {
		other := identity.NewID()
		if identity.RoutingKey(other) != identity.RoutingKey(id) {
			return other
		}
	}
}
