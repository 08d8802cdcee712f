package identity

import (
	"context"
	"errors"
	"time"
)

// Errors every Store returns (wrapped or not; test with errors.Is). Any other
// error means the store could not be reached or failed, and is answered with
// 503.
var (
	// ErrNotFound: no such identity, session, flow or continuity payload.
	ErrNotFound = errors.New("not found")
	// ErrVersionConflict: the identity changed since the caller read it.
	ErrVersionConflict = errors.New("the identity was changed by another request")
	// ErrDuplicateIdentifier: a login identifier already belongs to another
	// identity.
	ErrDuplicateIdentifier = errors.New("an identity with this identifier exists already")
	// ErrExists: a record with this id exists already.
	ErrExists = errors.New("already exists")
	// ErrCorrupt: a stored record could not be decoded. It is an internal
	// fault (answered with 500), not an outage; lists leave such a record
	// out rather than fail.
	ErrCorrupt = errors.New("a stored record could not be decoded")
)

// FlowGrace is how long a flow is remembered after it expired, so that it is
// answered as "expired" (410 or a form error) rather than "unknown".
const FlowGrace = 24 * time.Hour

// MaxIdentityFlows is how many flows (settings flows, legacy profile
// requests) a store keeps for one identity, expired ones still remembered
// (FlowGrace) included. Each settings page a browser opens or an app asks
// for is one; the oldest goes when there are more.
const MaxIdentityFlows = 50

// KeepUntil is when a store may forget a flow: FlowGrace after it expired,
// so that it is answered as "expired"; a stored error (the error UI's) has
// nothing to answer once expired and goes at once.
func KeepUntil(f *Flow) time.Time {
	if f.Kind == KindError {
		return f.ExpiresAt
	}
	return f.ExpiresAt.Add(FlowGrace)
}

// The store contract is split by role: each interface below is one kind of
// record. A new capability (a counter, a mail queue) is a new small interface
// beside these, not a wider Store. Every implementation is safe for
// concurrent use and shared by every Caddy instance that points at the same
// backing service.
//
// Records of one identity (the identity, its sessions, its settings and
// profile flows) share a routing key (see RoutingKey), so a store can keep
// them together and read or change them in one round trip.

// Identities keeps identities and the index of their login identifiers.
type Identities interface {
	// CreateIdentity stores a new identity with Version 1 (it sets the field)
	// and claims its login identifiers. ErrDuplicateIdentifier when an
	// identifier is taken, ErrExists when the id is.
	CreateIdentity(ctx context.Context, id *Identity) error
	// GetIdentity returns the identity with this id.
	GetIdentity(ctx context.Context, id string) (*Identity, error)
	// FindIdentityByIdentifier returns the identity that holds this login
	// identifier (compared lower-cased). Callers pass identifiers already
	// normalised (schema.NormalizeIdentifier), which lower-casing leaves
	// as they are; the store does not normalise.
	FindIdentityByIdentifier(ctx context.Context, identifier string) (*Identity, error)
	// UpdateIdentity replaces the stored identity if its version still is
	// id.Version, and then sets id.Version to the new version. The login
	// identifiers index follows atomically. ErrVersionConflict when the stored
	// version differs, ErrDuplicateIdentifier when a new identifier is taken.
	UpdateIdentity(ctx context.Context, id *Identity) error
	// DeleteIdentity removes the identity, its identifiers and its sessions.
	DeleteIdentity(ctx context.Context, id string) error
	// ListIdentities returns up to limit identities ordered by id, starting
	// after the id `after` (empty: from the start), and the id to pass to get
	// the next page ("" on the last page).
	ListIdentities(ctx context.Context, after string, limit int) ([]*Identity, string, error)
}

// Sessions keeps sessions, found by the hash of their token or by id.
type Sessions interface {
	// CreateSession stores a new session (s.ID made by NewIDFor its identity)
	// for the token whose hash is s.TokenHash. The session expires from the
	// store at s.ExpiresAt.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session for a session token together with its
	// identity, in one round trip. The store looks the session up by
	// HashToken(token) and never keeps the token itself. ErrNotFound when
	// either is gone.
	GetSession(ctx context.Context, token string) (*Session, *Identity, error)
	// ViewSession is GetSession for a caller that only reads what it gets
	// (whoami, the identity of an app request): the records may be shared
	// with other callers, so they must never be changed, and the store
	// saves itself the copy. They are a snapshot: a later write does not
	// change them.
	ViewSession(ctx context.Context, token string) (*Session, *Identity, error)
	// GetSessionByID returns the session with this id.
	GetSessionByID(ctx context.Context, id string) (*Session, error)
	// UpdateSession replaces a stored session (refresh, extend, revoke).
	UpdateSession(ctx context.Context, s *Session) error
	// ListSessions returns the identity's sessions, newest first.
	ListSessions(ctx context.Context, identityID string) ([]*Session, error)
	// DeleteSession removes the session with this id.
	DeleteSession(ctx context.Context, id string) error
	// DeleteSessions removes the identity's sessions except the one with id
	// `keep` (may be empty) and reports how many it removed.
	DeleteSessions(ctx context.Context, identityID, keep string) (int, error)
	// RevokeSessions sets Active to false on every stored session of the
	// identity except the one with id `keep`, and reports how many sessions
	// other than `keep` it found, revoked already or not (Kratos counts the
	// rows its update matched).
	RevokeSessions(ctx context.Context, identityID, keep string) (int, error)
	// ListAllSessions returns up to limit stored sessions of every identity,
	// each with its identity, in the order of SessionCursor (newest issued
	// first), starting after the cursor `after` ("" from the start), and the
	// cursor of the next page ("" on the last page). Sessions whose identity
	// is gone are left out. The work of one call is bounded: a page may come
	// back short, with a next cursor, when the store skipped many records it
	// no longer holds.
	ListAllSessions(ctx context.Context, after string, limit int) ([]SessionWithIdentity, string, error)
}

// Flows keeps self-service flows and stored errors.
type Flows interface {
	// SaveFlow creates or replaces a flow. It is kept until KeepUntil(f);
	// a Marked flow only until it expires, and then its Marker until
	// KeepUntil. A flow of an identity (IdentityID set; its id made by
	// NewIDFor that identity) is one of at most MaxIdentityFlows the store
	// keeps for it: saving a new one beyond that forgets the identity's
	// flows that go first (KeepUntil), so what a signed-in client can make
	// the store hold is bounded.
	SaveFlow(ctx context.Context, f *Flow) error
	// GetFlow returns the flow with this id, expired or not (an expired
	// Marked flow as its Marker).
	GetFlow(ctx context.Context, id string) (*Flow, error)
}

// Continuity keeps a browser's paused submission until it is resumed.
type Continuity interface {
	// SaveContinuity keeps a paused submission for ttl under id.
	SaveContinuity(ctx context.Context, id string, payload []byte, ttl time.Duration) error
	// TakeContinuity returns and removes the paused submission under id.
	TakeContinuity(ctx context.Context, id string) ([]byte, error)
}

// Settings is what a settings submit needs across roles, each in one round
// trip: the read of the session, its identity and the flow, and the write of
// the identity with the flow.
type Settings interface {
	// GetSessionAndFlow reads the session for a token, its identity and a
	// flow in one round trip. The flow is nil (and no error) when it does
	// not exist; the session error is as GetSession. The session and the
	// identity may be shared, as ViewSession's: a submit changes a copy of
	// the identity (the flow is the caller's).
	GetSessionAndFlow(ctx context.Context, token, flowID string) (*Session, *Identity, *Flow, error)
	// UpdateIdentityAndFlow is UpdateIdentity and SaveFlow as one write:
	// either both happen or neither does. The new version is always
	// id.Version+1. stored, when not nil, is the identity as the caller read
	// it at id.Version: its identifiers are the ones the update replaces, so
	// the store need not read them again (the version check makes that
	// safe). A settings submit is then one read and one write.
	UpdateIdentityAndFlow(ctx context.Context, stored, id *Identity, f *Flow) error
}

// Pinger is a store that can say whether it answers (the readiness check);
// a store without it is always ready.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Store is every role together: what a backing service (memory, Redis)
// provides.
type Store interface {
	Identities
	Sessions
	Flows
	Continuity
	Settings
	Messages // the courier's queue (message.go)
	Codes    // one-time codes of verification and recovery (code.go)
	// Close releases the store's connections.
	Close() error
}

func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
