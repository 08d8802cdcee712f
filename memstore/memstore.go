package memstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/recordcopy"
)

// sweepEvery is how often (on the store's clock) a write also removes every
// expired entry, so that entries nobody reads again do not stay forever.
const sweepEvery = time.Minute

// Store is the embedded Store: everything lives in this process's
// memory, behind one mutex. It is the default when no Redis is configured and
// the reference the Redis store is tested against.
//
// Records are kept as Go values, copied deeply on every write and read
// (internal/recordcopy): no caller can change a stored record through a pointer it
// still holds, and the copy gives what a JSON round trip gives, the form the
// Redis store keeps, so both stores answer with the same values (a number in
// traits comes back as float64).
type Store struct {
	now func() time.Time

	mu            sync.Mutex
	identities    map[string]memoryIdentity      // identity id → identity
	identifiers   map[string]string              // lower-cased identifier → identity id
	sessions      map[string]memorySession       // token hash → session
	sessionIDs    map[string]string              // session id → token hash
	owned         map[string]map[string]struct{} // identity id → token hashes of its sessions
	flows         map[string]memoryRecord        // flow id → flow, kept FlowGrace past its expiry (a Marked flow until it expires)
	identityFlows map[string][]string            // identity id → ids of its flows, oldest first (at most identity.MaxIdentityFlows)
	markers       map[string]memoryMarker        // flow id → an expired Marked flow's marker, until KeepUntil
	continuity    map[string]memoryRecord        // continuity id → paused payload
	limiters      map[string]limiterEntry        // limiter key → its token bucket
	lastSweep     time.Time                      // when expired entries were last removed
	flowsPeak     int                            // the most entries flows had since it was made anew
	markersPeak   int                            // the same for markers

	messages messageQueue // the courier's queue, under its own mutex (messages.go)
	codes    codeTable    // one-time codes, under their own mutex (codes.go)
}

// memoryIdentity is a stored identity and what the index needs.
type memoryIdentity struct {
	rec         *identity.Identity
	version     int64
	identifiers []string // lower-cased
}

// memorySession is a stored session and what the indexes need.
type memorySession struct {
	rec        *identity.Session
	id         string
	identityID string
	expiresAt  time.Time
	cursor     string // identity.SessionCursor
}

// memoryRecord is a stored flow (flow) or continuity payload (data) and
// when it goes. A Marked flow's record goes when the flow expires, and holds
// its marker, which then moves to Store.markers.
type memoryRecord struct {
	data  string
	flow  *identity.Flow
	until time.Time

	marker memoryMarker
}

// memoryMarker is a Marked flow's marker: identity.EncodeMarker, with the
// request URL after base (identity.MarkerBase), whose one copy every marker
// of the site shares.
type memoryMarker struct {
	data string
	base unique.Handle[string]
}

// New returns an empty Store on the system clock.
func New() *Store {
	return NewWithClock(time.Now)
}

// NewWithClock returns an empty Store whose expiries follow
// the clock now (tests move it instead of sleeping; the Service's Config.Now
// should be the same clock). A nil now is time.Now.
func NewWithClock(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{
		now:           now,
		identities:    map[string]memoryIdentity{},
		identifiers:   map[string]string{},
		sessions:      map[string]memorySession{},
		sessionIDs:    map[string]string{},
		owned:         map[string]map[string]struct{}{},
		flows:         map[string]memoryRecord{},
		identityFlows: map[string][]string{},
		markers:       map[string]memoryMarker{},
		continuity:    map[string]memoryRecord{},
		limiters:      map[string]limiterEntry{},
		lastSweep:     now(),
	}
}

var (
	_ identity.Store   = (*Store)(nil)
	_ identity.Limiter = (*Store)(nil)
)

// CreateIdentity implements Store.
func (m *Store) CreateIdentity(_ context.Context, id *identity.Identity) error {
	if id == nil || id.ID == "" {
		return errors.New("flows: identity without id")
	}
	c, err := recordcopy.Clone(id)
	if err != nil {
		return fmt.Errorf("flows: encode identity: %w", err)
	}
	c.Version = 1
	idents := lowerIdentifiers(id.Identifiers())

	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	if _, ok := m.identities[id.ID]; ok {
		return identity.ErrExists
	}
	if m.anyTakenBy(idents, id.ID) {
		return identity.ErrDuplicateIdentifier
	}
	m.identities[id.ID] = memoryIdentity{rec: c, version: 1, identifiers: idents}
	for _, ident := range idents {
		m.identifiers[ident] = id.ID
	}
	id.Version = 1
	return nil
}

// GetIdentity implements Store.
func (m *Store) GetIdentity(_ context.Context, id string) (*identity.Identity, error) {
	m.mu.Lock()
	rec, ok := m.identities[id]
	m.mu.Unlock()
	if !ok {
		return nil, identity.ErrNotFound
	}
	return read(rec.rec)
}

// FindIdentityByIdentifier implements Store.
func (m *Store) FindIdentityByIdentifier(_ context.Context, identifier string) (*identity.Identity, error) {
	m.mu.Lock()
	rec, ok := m.identities[m.identifiers[strings.ToLower(identifier)]]
	m.mu.Unlock()
	if !ok {
		return nil, identity.ErrNotFound
	}
	return read(rec.rec)
}

// UpdateIdentity implements Store.
func (m *Store) UpdateIdentity(_ context.Context, id *identity.Identity) error {
	return m.updateIdentity(id, nil)
}

// UpdateIdentityAndFlow implements Store. stored is not needed: the
// identifiers are at hand.
func (m *Store) UpdateIdentityAndFlow(_ context.Context, _, id *identity.Identity, f *identity.Flow) error {
	if f == nil || f.ID == "" {
		return errors.New("flows: flow without id")
	}
	if id != nil && identity.RoutingKey(f.ID) != identity.RoutingKey(id.ID) {
		return fmt.Errorf("flows: flow %s does not share the routing key of identity %s (make its id with NewIDFor)", f.ID, id.ID)
	}
	return m.updateIdentity(id, f)
}

// updateIdentity writes id (and f, when not nil) if id.Version is the
// stored version.
func (m *Store) updateIdentity(id *identity.Identity, f *identity.Flow) error {
	if id == nil || id.ID == "" {
		return errors.New("flows: identity without id")
	}
	c, err := recordcopy.Clone(id)
	if err != nil {
		return fmt.Errorf("flows: encode identity: %w", err)
	}
	c.Version = id.Version + 1
	var flowRec memoryRecord
	if f != nil {
		if flowRec, err = flowRecord(f); err != nil {
			return err
		}
	}
	idents := lowerIdentifiers(id.Identifiers())

	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	stored, ok := m.identities[id.ID]
	if !ok {
		return identity.ErrNotFound
	}
	if stored.version != id.Version {
		return identity.ErrVersionConflict
	}
	if m.anyTakenBy(idents, id.ID) {
		return identity.ErrDuplicateIdentifier
	}
	for _, old := range stored.identifiers {
		if m.identifiers[old] == id.ID {
			delete(m.identifiers, old)
		}
	}
	for _, ident := range idents {
		m.identifiers[ident] = id.ID
	}
	m.identities[id.ID] = memoryIdentity{rec: c, version: c.Version, identifiers: idents}
	if f != nil {
		m.putFlowRecord(f.ID, flowRec)
	}
	id.Version = c.Version
	return nil
}

// DeleteIdentity implements Store.
func (m *Store) DeleteIdentity(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, ok := m.identities[id]
	if !ok {
		return identity.ErrNotFound
	}
	for _, ident := range stored.identifiers {
		if m.identifiers[ident] == id {
			delete(m.identifiers, ident)
		}
	}
	for hash := range m.owned[id] {
		m.removeSession(hash)
	}
	delete(m.identities, id)
	return nil
}

// ListIdentities implements Store.
func (m *Store) ListIdentities(_ context.Context, after string, limit int) ([]*identity.Identity, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("flows: list limit %d is not positive", limit)
	}
	m.mu.Lock()
	ids := make([]string, 0, len(m.identities))
	for id := range m.identities {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	recs := make([]*identity.Identity, len(ids))
	for i, id := range ids {
		recs[i] = m.identities[id].rec
	}
	m.mu.Unlock()

	out := make([]*identity.Identity, 0, len(recs))
	for _, rec := range recs {
		id, err := read(rec)
		if err != nil {
			continue // one bad record must not hide the others
		}
		out = append(out, id)
	}
	return out, next, nil
}

// CreateSession implements Store.
func (m *Store) CreateSession(_ context.Context, s *identity.Session) error {
	if err := checkMemorySession(s); err != nil {
		return err
	}
	c, err := recordcopy.Clone(s)
	if err != nil {
		return fmt.Errorf("flows: encode session: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	if _, ok := m.liveSession(s.TokenHash); ok {
		return identity.ErrExists
	}
	if hash, ok := m.sessionIDs[s.ID]; ok {
		if _, ok := m.liveSession(hash); ok {
			return identity.ErrExists
		}
	}
	m.putSession(c)
	return nil
}

// GetSession implements Store.
func (m *Store) GetSession(_ context.Context, token string) (*identity.Session, *identity.Identity, error) {
	m.mu.Lock()
	sess, ident, err := m.sessionAndIdentity(token)
	m.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	return readSessionAndIdentity(sess, ident)
}

// ViewSession implements identity.Sessions: the stored records themselves,
// which are never changed in place.
func (m *Store) ViewSession(_ context.Context, token string) (*identity.Session, *identity.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessionAndIdentity(token)
}

// GetSessionByID implements Store.
func (m *Store) GetSessionByID(_ context.Context, id string) (*identity.Session, error) {
	m.mu.Lock()
	rec, ok := m.liveSession(m.sessionIDs[id])
	m.mu.Unlock()
	if !ok || rec.id != id {
		return nil, identity.ErrNotFound
	}
	return read(rec.rec)
}

// UpdateSession implements Store. The session is found by its id, and its
// token hash and identity must be the stored ones.
func (m *Store) UpdateSession(_ context.Context, s *identity.Session) error {
	if err := checkMemorySession(s); err != nil {
		return err
	}
	c, err := recordcopy.Clone(s)
	if err != nil {
		return fmt.Errorf("flows: encode session: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	hash := m.sessionIDs[s.ID]
	rec, ok := m.liveSession(hash)
	if !ok || hash != s.TokenHash || rec.identityID != s.IdentityID {
		return identity.ErrNotFound
	}
	m.removeSession(hash)
	m.putSession(c)
	return nil
}

// ListSessions implements Store.
func (m *Store) ListSessions(_ context.Context, identityID string) ([]*identity.Session, error) {
	m.mu.Lock()
	var recs []*identity.Session
	for hash := range m.owned[identityID] {
		if rec, ok := m.liveSession(hash); ok {
			recs = append(recs, rec.rec)
		}
	}
	m.mu.Unlock()

	out := make([]*identity.Session, 0, len(recs))
	for _, rec := range recs {
		s, err := read(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sortNewestFirst(out)
	return out, nil
}

// DeleteSession implements Store.
func (m *Store) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	hash := m.sessionIDs[id]
	if rec, ok := m.liveSession(hash); !ok || rec.id != id {
		return identity.ErrNotFound
	}
	m.removeSession(hash)
	return nil
}

// DeleteSessions implements Store.
func (m *Store) DeleteSessions(_ context.Context, identityID, keep string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for hash := range m.owned[identityID] {
		rec, ok := m.liveSession(hash)
		if !ok || rec.id == keep {
			continue
		}
		m.removeSession(hash)
		n++
	}
	return n, nil
}

// SaveFlow implements Store.
func (m *Store) SaveFlow(_ context.Context, f *identity.Flow) error {
	if f == nil || f.ID == "" {
		return errors.New("flows: flow without id")
	}
	if f.IdentityID != "" && identity.RoutingKey(f.ID) != identity.RoutingKey(f.IdentityID) {
		return fmt.Errorf("memstore: flow %s of identity %s does not share its routing key (make its id with identity.NewIDFor)", f.ID, f.IdentityID)
	}
	rec, err := flowRecord(f)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	_, known := m.flows[f.ID]
	m.putFlowRecord(f.ID, rec)
	if f.IdentityID != "" && !known {
		m.keepIdentityFlow(f.IdentityID, f.ID)
	}
	return nil
}

// keepIdentityFlow adds a new flow to its identity's and forgets the
// identity's oldest beyond identity.MaxIdentityFlows, forgotten ones
// among them, as the Redis store does. The caller holds m.mu.
func (m *Store) keepIdentityFlow(owner, id string) {
	ids := append(m.identityFlows[owner], id)
	if over := len(ids) - identity.MaxIdentityFlows; over > 0 {
		for _, old := range ids[:over] {
			delete(m.flows, old)
		}
		ids = slices.Delete(ids, 0, over)
	}
	m.identityFlows[owner] = ids
}

// flowGone reports whether the store holds no flow with this id any more.
// The caller holds m.mu.
func (m *Store) flowGone(id string) bool {
	_, ok := m.flows[id]
	return !ok
}

// flowRecord is a flow as the store keeps it: a copy until KeepUntil;
// a Marked flow's until it expires, and then its marker until KeepUntil.
func flowRecord(f *identity.Flow) (memoryRecord, error) {
	c, err := recordcopy.Clone(f)
	if err != nil {
		return memoryRecord{}, fmt.Errorf("memstore: encode flow: %w", err)
	}
	rec := memoryRecord{flow: c, until: identity.KeepUntil(f)}
	if identity.Marked(f) {
		base := identity.MarkerBase(f)
		rec.until = f.ExpiresAt
		rec.marker = memoryMarker{data: string(identity.EncodeMarker(f, base)), base: unique.Make(base)}
	}
	return rec, nil
}

// GetFlow implements Store.
func (m *Store) GetFlow(_ context.Context, id string) (*identity.Flow, error) {
	m.mu.Lock()
	rec, ok := m.liveRecord(m.flows, id)
	marker, marked := m.markers[id]
	if !ok && marked && !m.now().Before(marker.keepUntil()) {
		delete(m.markers, id)
		marked = false
	}
	m.mu.Unlock()
	switch {
	case ok:
		return read(rec.flow)
	case marked:
		return identity.DecodeMarker(id, []byte(marker.data), marker.base.Value())
	}
	return nil, identity.ErrNotFound
}

// GetSessionAndFlow implements Store: the session and identity as stored
// (never changed in place), a copy of the flow.
func (m *Store) GetSessionAndFlow(_ context.Context, token, flowID string) (*identity.Session, *identity.Identity, *identity.Flow, error) {
	m.mu.Lock()
	sess, ident, err := m.sessionAndIdentity(token)
	flow, flowOK := m.liveRecord(m.flows, flowID)
	m.mu.Unlock()
	if err != nil || !flowOK {
		return sess, ident, nil, err
	}
	f, err := read(flow.flow)
	if err != nil {
		return nil, nil, nil, err
	}
	return sess, ident, f, nil
}

// SaveContinuity implements Store.
func (m *Store) SaveContinuity(_ context.Context, id string, payload []byte, ttl time.Duration) error {
	if id == "" {
		return errors.New("flows: continuity without id")
	}
	if ttl <= 0 {
		return fmt.Errorf("flows: continuity ttl %s is not positive", ttl)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	m.continuity[id] = memoryRecord{data: string(payload), until: m.now().Add(ttl)}
	return nil
}

// TakeContinuity implements Store.
func (m *Store) TakeContinuity(_ context.Context, id string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.liveRecord(m.continuity, id)
	if !ok {
		return nil, identity.ErrNotFound
	}
	delete(m.continuity, id)
	return []byte(rec.data), nil
}

// Close implements Store; a Store holds no connections.
func (m *Store) Close() error { return nil }

// sortNewestFirst orders sessions by IssuedAt, newest first (ties by id),
// the order ListSessions answers in.
func sortNewestFirst(ss []*identity.Session) {
	sort.SliceStable(ss, func(i, j int) bool {
		if !ss[i].IssuedAt.Equal(ss[j].IssuedAt) {
			return ss[i].IssuedAt.After(ss[j].IssuedAt)
		}
		return ss[i].ID > ss[j].ID
	})
}

// anyTakenBy reports whether one of idents belongs to an identity other than
// owner. The caller holds m.mu.
func (m *Store) anyTakenBy(idents []string, owner string) bool {
	for _, ident := range idents {
		if holder, ok := m.identifiers[ident]; ok && holder != owner {
			return true
		}
	}
	return false
}

// sessionAndIdentity returns the stored live session for token and its
// identity, not to be changed. A token whose routing key is not its
// identity's is not found, as in the Redis store. The caller holds m.mu.
func (m *Store) sessionAndIdentity(token string) (*identity.Session, *identity.Identity, error) {
	rec, ok := m.liveSession(identity.HashToken(token))
	if !ok || identity.RoutingKey(token) != identity.RoutingKey(rec.identityID) {
		return nil, nil, identity.ErrNotFound
	}
	ident, ok := m.identities[rec.identityID]
	if !ok {
		return nil, nil, identity.ErrNotFound
	}
	return rec.rec, ident.rec, nil
}

// liveSession returns the session stored under hash unless it expired; an
// expired one is removed. The caller holds m.mu.
func (m *Store) liveSession(hash string) (memorySession, bool) {
	rec, ok := m.sessions[hash]
	if !ok {
		return memorySession{}, false
	}
	if !m.now().Before(rec.expiresAt) {
		m.removeSession(hash)
		return memorySession{}, false
	}
	return rec, true
}

// putSession stores s, a copy no caller holds, and indexes it, unless it
// already expired. The caller holds m.mu.
func (m *Store) putSession(s *identity.Session) {
	if !m.now().Before(s.ExpiresAt) {
		return
	}
	m.sessions[s.TokenHash] = memorySession{
		rec: s, id: s.ID, identityID: s.IdentityID, expiresAt: s.ExpiresAt, cursor: identity.SessionCursor(s),
	}
	m.sessionIDs[s.ID] = s.TokenHash
	set := m.owned[s.IdentityID]
	if set == nil {
		set = map[string]struct{}{}
		m.owned[s.IdentityID] = set
	}
	set[s.TokenHash] = struct{}{}
}

// removeSession drops the session stored under hash and its index entries.
// The caller holds m.mu.
func (m *Store) removeSession(hash string) {
	rec, ok := m.sessions[hash]
	if !ok {
		return
	}
	delete(m.sessions, hash)
	if m.sessionIDs[rec.id] == hash {
		delete(m.sessionIDs, rec.id)
	}
	if set := m.owned[rec.identityID]; set != nil {
		delete(set, hash)
		if len(set) == 0 {
			delete(m.owned, rec.identityID)
		}
	}
}

// putFlowRecord stores a flow's record, or what is left of it when it has
// expired. The caller holds m.mu.
func (m *Store) putFlowRecord(id string, rec memoryRecord) {
	delete(m.markers, id)
	if !m.now().Before(rec.until) {
		delete(m.flows, id)
		m.keepMarker(id, rec)
		return
	}
	m.flows[id] = rec
	m.flowsPeak = max(m.flowsPeak, len(m.flows))
}

// shrunk returns records, or a copy of it when it holds less than a
// quarter of its peak, and the peak of what it returns: a Go map keeps the
// room it once needed, so without this a burst of flows would hold their
// memory after they have gone.
func shrunk[V any](records map[string]V, peak int) (map[string]V, int) {
	if len(records) >= peak/4 {
		return records, peak
	}
	copied := make(map[string]V, len(records))
	for id, rec := range records {
		copied[id] = rec
	}
	return copied, len(copied)
}

// keepMarker keeps the marker of an expired record (if it has one) until
// its KeepUntil. The caller holds m.mu.
func (m *Store) keepMarker(id string, rec memoryRecord) {
	if rec.marker.data != "" && m.now().Before(rec.marker.keepUntil()) {
		m.markers[id] = rec.marker
		m.markersPeak = max(m.markersPeak, len(m.markers))
	}
}

// keepUntil is identity.KeepUntil of the marker's flow.
func (mk memoryMarker) keepUntil() time.Time {
	expiresAt, _ := identity.MarkerExpiresAt([]byte(mk.data))
	return expiresAt.Add(identity.FlowGrace)
}

// liveRecord returns records[id] unless it expired; an expired one is
// removed, leaving its marker if it has one. The caller holds m.mu.
func (m *Store) liveRecord(records map[string]memoryRecord, id string) (memoryRecord, bool) {
	rec, ok := records[id]
	if !ok {
		return memoryRecord{}, false
	}
	if !m.now().Before(rec.until) {
		delete(records, id)
		m.keepMarker(id, rec)
		return memoryRecord{}, false
	}
	return rec, true
}

// maybeSweep removes every expired entry if the last sweep is sweepEvery
// ago. The caller holds m.mu.
func (m *Store) maybeSweep() {
	now := m.now()
	if now.Sub(m.lastSweep) < sweepEvery {
		return
	}
	m.lastSweep = now
	for hash, rec := range m.sessions {
		if !now.Before(rec.expiresAt) {
			m.removeSession(hash)
		}
	}
	for _, records := range []map[string]memoryRecord{m.flows, m.continuity} {
		for id, rec := range records {
			if !now.Before(rec.until) {
				delete(records, id)
				m.keepMarker(id, rec)
			}
		}
	}
	for id, mk := range m.markers {
		if !now.Before(mk.keepUntil()) {
			delete(m.markers, id)
		}
	}
	for owner, ids := range m.identityFlows {
		if ids = slices.DeleteFunc(ids, m.flowGone); len(ids) == 0 {
			delete(m.identityFlows, owner)
		} else {
			m.identityFlows[owner] = ids
		}
	}
	m.flows, m.flowsPeak = shrunk(m.flows, m.flowsPeak)
	m.markers, m.markersPeak = shrunk(m.markers, m.markersPeak)
	m.sweepLimiters(now)
}

// checkMemorySession rejects a session the store could not index, or whose
// id does not share its identity's routing key (the Redis store needs that,
// so the memory store refuses it too).
func checkMemorySession(s *identity.Session) error {
	switch {
	case s == nil || s.ID == "" || s.IdentityID == "" || s.TokenHash == "":
		return errors.New("flows: session without id, identity id or token hash")
	case identity.RoutingKey(s.ID) != identity.RoutingKey(s.IdentityID):
		return fmt.Errorf("flows: session id %s does not share the routing key of identity %s (make it with NewIDFor)", s.ID, s.IdentityID)
	}
	return nil
}

// lowerIdentifiers returns idents lower-cased, without repeats. The
// service hands over normalised identifiers (schema.NormalizeIdentifier),
// which lower-casing leaves alone; the store's own rule stays
// case-insensitive for every caller, as the contract suite wants.
func lowerIdentifiers(idents []string) []string {
	out := make([]string, 0, len(idents))
	seen := make(map[string]bool, len(idents))
	for _, ident := range idents {
		l := strings.ToLower(ident)
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// readSessionAndIdentity copies a stored session and identity for a caller.
func readSessionAndIdentity(sess *identity.Session, ident *identity.Identity) (*identity.Session, *identity.Identity, error) {
	s, err := read(sess)
	if err != nil {
		return nil, nil, err
	}
	id, err := read(ident)
	if err != nil {
		return nil, nil, err
	}
	return s, id, nil
}

// read copies a stored record for a caller.
func read[T any](rec *T) (*T, error) {
	v, err := recordcopy.Clone(rec)
	if err != nil {
		return nil, fmt.Errorf("memstore: %w: %v", identity.ErrCorrupt, err)
	}
	return v, nil
}

// Ping implements identity.Pinger: the memory store always answers.
func (m *Store) Ping(context.Context) error { return nil }

// decodeMemory decodes a record the Store keeps as JSON (courier messages).
func decodeMemory[T any](data string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, fmt.Errorf("memstore: %w: %T: %v", identity.ErrCorrupt, v, err)
	}
	return v, nil
}
