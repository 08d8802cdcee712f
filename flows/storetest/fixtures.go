package storetest

import (
	"encoding/json"
	"time"

	"github.com/seed06f30684/caddy-kratos/flows"
)

// The fixtures build records the way the Service does: session ids and
// settings flow ids share their identity's routing key, and tokens come from
// flows.NewSessionToken.

// identity returns a new identity with these login identifiers (none: no
// password credential) and every field set.
func (s *suite) identity(identifiers ...string) *flows.Identity {
	now := s.now()
	email := "nobody@example.com"
	if len(identifiers) > 0 {
		email = identifiers[0]
	}
	verifiedAt := now.Add(-time.Minute)
	id := &flows.Identity{
		ID:             flows.NewID(),
		SchemaID:       "default",
		State:          flows.IdentityActive,
		StateChangedAt: now,
		Traits: map[string]any{
			"email": email,
			"name":  map[string]any{"first": "Ada", "last": "Lovelace"},
			"age":   36.0,
			"tags":  []any{"a", "b"},
		},
		MetadataPublic: json.RawMessage(`{"plan":"pro"}`),
		MetadataAdmin:  json.RawMessage(`{"note":"vip","score":7}`),
		VerifiableAddresses: []flows.VerifiableAddress{{
			ID: flows.NewID(), Value: email, Verified: true, Via: "email", Status: "completed",
			VerifiedAt: &verifiedAt, CreatedAt: now, UpdatedAt: now,
		}},
		RecoveryAddresses: []flows.RecoveryAddress{{
			ID: flows.NewID(), Value: email, Via: "email", CreatedAt: now, UpdatedAt: now,
		}},
		CreatedAt: now,
		UpdatedAt: now,
	}
	if len(identifiers) > 0 {
		id.Password = &flows.PasswordCredential{
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
func (s *suite) session(identityID string, issued time.Time) (*flows.Session, string) {
	token := flows.NewSessionToken(identityID)
	return &flows.Session{
		ID:              flows.NewIDFor(identityID),
		IdentityID:      identityID,
		TokenHash:       flows.HashToken(token),
		Active:          true,
		IssuedAt:        issued,
		AuthenticatedAt: issued,
		ExpiresAt:       s.now().Add(time.Hour),
		AAL:             flows.AAL1,
		AuthenticationMethods: []flows.AuthenticationMethod{
			{Method: "password", AAL: flows.AAL1, CompletedAt: issued},
		},
		Devices: []flows.Device{{ID: flows.NewID(), IPAddress: "192.0.2.1", UserAgent: "storetest/1.0"}},
	}, token
}

// flow returns a new settings flow of the identity, or a login flow when
// identityID is empty, expiring in an hour.
func (s *suite) flow(identityID string) *flows.Flow {
	now := s.now()
	f := &flows.Flow{
		ID:         flows.NewID(),
		Kind:       flows.KindLogin,
		Type:       flows.TypeBrowser,
		State:      flows.StateShowForm,
		IssuedAt:   now,
		ExpiresAt:  now.Add(time.Hour),
		UpdatedAt:  now,
		RequestURL: "https://example.com/self-service/login/browser",
		UI: flows.UI{
			Action: "https://example.com/self-service/login?flow=x",
			Method: "POST",
			Nodes: []flows.Node{{
				Type: "input", Group: "default",
				Attributes: flows.InputAttributes{Name: "csrf_token", Type: "hidden", Value: "t0k3n", Required: true, NodeType: "input"},
				Messages:   []flows.Message{},
			}},
		},
	}
	if identityID != "" {
		f.ID = flows.NewIDFor(identityID)
		f.Kind = flows.KindSettings
		f.IdentityID = identityID
		f.IdentityVersion = 1
		f.RequestURL = "https://example.com/self-service/settings/browser"
	}
	return f
}

// otherRoutingKey returns a new id whose routing key differs from id's.
func otherRoutingKey(id string) string {
	for {
		other := flows.NewID()
		if flows.RoutingKey(other) != flows.RoutingKey(id) {
			return other
		}
	}
}
