package memstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// sweepEvery is how often (on the store's clock) a write also removes every
// expired entry, so that entries nobody reads again do not stay forever.
const sweepEvery = time.Minute

// Store is the embedded Store: everything lives in this process's
// memory, behind one mutex. It is the default when no Redis is configured and
// the reference the Redis store is tested against.
//
// Records are kept as JSON, the form the Redis store keeps, so both stores
// answer with the same values (a number in traits comes back as float64) and
// no caller can change a stored record through a pointer it still holds.
type Store struct {
	now func() time.Time

	mu          sync.Mutex
	identities  map[string]memoryIdentity      // identity id → identity
	identifiers map[string]string              // lower-cased identifier → identity id
	sessions    map[string]memorySession       // token hash → session
	sessionIDs  map[string]string              // session id → token hash
	owned       map[string]map[string]struct{} // identity id → token hashes of its sessions
	flows       map[string]memoryRecord        // flow id → flow, kept FlowGrace past its expiry
	continuity  map[string]memoryRecord        // continuity id → paused payload
	limiters    map[string]limiterEntry        // limiter key → its token bucket
	lastSweep   time.Time                      // when expired entries were last removed

	messages messageQueue // the courier's queue, under its own mutex (messages.go)
}

// memoryIdentity is a stored identity: its JSON and what the index needs.
type memoryIdentity struct {
	data        string
	version     int64
	identifiers []string // lower-cased
}

// memorySession is a stored session: its JSON and what the indexes need.
type memorySession struct {
	data       string
	id         string
	identityID string
	expiresAt  time.Time
	cursor     string // identity.SessionCursor
}

// memoryRecord is a stored flow or continuity payload and when it goes. A
// Marked flow's record holds its marker too, which replaces data once the
// flow expires.
type memoryRecord struct {
	data  string
	until time.Time

	marker    string
	expiresAt time.Time
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
		now:         now,
		identities:  map[string]memoryIdentity{},
		identifiers: map[string]string{},
		sessions:    map[string]memorySession{},
		sessionIDs:  map[string]string{},
		owned:       map[string]map[string]struct{}{},
		flows:       map[string]memoryRecord{},
		continuity:  map[string]memoryRecord{},
		limiters:    map[string]limiterEntry{},
		lastSweep:   now(),
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
	c := *id
	c.Version = 1
	data, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("flows: encode identity: %w", err)
	}
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
	m.identities[id.ID] = memoryIdentity{data: string(data), version: 1, identifiers: idents}
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
	return decodeMemory[identity.Identity](rec.data)
}

// FindIdentityByIdentifier implements Store.
func (m *Store) FindIdentityByIdentifier(_ context.Context, identifier string) (*identity.Identity, error) {
	m.mu.Lock()
	rec, ok := m.identities[m.identifiers[strings.ToLower(identifier)]]
	m.mu.Unlock()
	if !ok {
		return nil, identity.ErrNotFound
	}
	return decodeMemory[identity.Identity](rec.data)
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
	c := *id
	c.Version = id.Version + 1
	data, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("flows: encode identity: %w", err)
	}
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
	m.identities[id.ID] = memoryIdentity{data: string(data), version: c.Version, identifiers: idents}
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
	data := make([]string, len(ids))
	for i, id := range ids {
		data[i] = m.identities[id].data
	}
	m.mu.Unlock()

	out := make([]*identity.Identity, 0, len(data))
	for _, d := range data {
		id, err := decodeMemory[identity.Identity](d)
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
	data, err := json.Marshal(s)
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
	m.putSession(s, string(data))
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
	return decodeSessionAndIdentity(sess, ident)
}

// GetSessionByID implements Store.
func (m *Store) GetSessionByID(_ context.Context, id string) (*identity.Session, error) {
	m.mu.Lock()
	rec, ok := m.liveSession(m.sessionIDs[id])
	m.mu.Unlock()
	if !ok || rec.id != id {
		return nil, identity.ErrNotFound
	}
	return decodeMemory[identity.Session](rec.data)
}

// UpdateSession implements Store. The session is found by its id, and its
// token hash and identity must be the stored ones.
func (m *Store) UpdateSession(_ context.Context, s *identity.Session) error {
	if err := checkMemorySession(s); err != nil {
		return err
	}
	data, err := json.Marshal(s)
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
	m.putSession(s, string(data))
	return nil
}

// ListSessions implements Store.
func (m *Store) ListSessions(_ context.Context, identityID string) ([]*identity.Session, error) {
	m.mu.Lock()
	var data []string
	for hash := range m.owned[identityID] {
		if rec, ok := m.liveSession(hash); ok {
			data = append(data, rec.data)
		}
	}
	m.mu.Unlock()

	out := make([]*identity.Session, 0, len(data))
	for _, d := range data {
		s, err := decodeMemory[identity.Session](d)
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
	rec, err := flowRecord(f)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	m.putFlowRecord(f.ID, rec)
	return nil
}

// flowRecord is a flow as the store keeps it: its JSON until KeepUntil,
// and for a Marked flow its marker, which replaces it once it expired.
func flowRecord(f *identity.Flow) (memoryRecord, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return memoryRecord{}, fmt.Errorf("memstore: encode flow: %w", err)
	}
	rec := memoryRecord{data: string(data), until: identity.KeepUntil(f)}
	if identity.Marked(f) {
		marker, err := json.Marshal(f.Marker())
		if err != nil {
			return memoryRecord{}, fmt.Errorf("memstore: encode flow: %w", err)
		}
		rec.marker, rec.expiresAt = string(marker), f.ExpiresAt
	}
	return rec, nil
}

// GetFlow implements Store.
func (m *Store) GetFlow(_ context.Context, id string) (*identity.Flow, error) {
	m.mu.Lock()
	rec, ok := m.liveRecord(m.flows, id)
	m.mu.Unlock()
	if !ok {
		return nil, identity.ErrNotFound
	}
	return decodeMemory[identity.Flow](rec.data)
}

// GetSessionAndFlow implements Store.
func (m *Store) GetSessionAndFlow(_ context.Context, token, flowID string) (*identity.Session, *identity.Identity, *identity.Flow, error) {
	m.mu.Lock()
	sess, ident, err := m.sessionAndIdentity(token)
	flow, flowOK := m.liveRecord(m.flows, flowID)
	m.mu.Unlock()
	if err != nil {
		return nil, nil, nil, err
	}
	s, id, err := decodeSessionAndIdentity(sess, ident)
	if err != nil || !flowOK {
		return s, id, nil, err
	}
	f, err := decodeMemory[identity.Flow](flow.data)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, id, f, nil
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

// sessionAndIdentity returns the JSON of the live session for token and of
// its identity. A token whose routing key is not its identity's is not found,
// as in the Redis store. The caller holds m.mu.
func (m *Store) sessionAndIdentity(token string) (string, string, error) {
	rec, ok := m.liveSession(identity.HashToken(token))
	if !ok || identity.RoutingKey(token) != identity.RoutingKey(rec.identityID) {
		return "", "", identity.ErrNotFound
	}
	ident, ok := m.identities[rec.identityID]
	if !ok {
		return "", "", identity.ErrNotFound
	}
	return rec.data, ident.data, nil
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

// putSession stores s (JSON data) and indexes it, unless it already expired.
// The caller holds m.mu.
func (m *Store) putSession(s *identity.Session, data string) {
	if !m.now().Before(s.ExpiresAt) {
		return
	}
	m.sessions[s.TokenHash] = memorySession{
		data: data, id: s.ID, identityID: s.IdentityID, expiresAt: s.ExpiresAt, cursor: identity.SessionCursor(s),
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

// putFlowRecord stores a flow's record, or drops it when it has gone. The
// caller holds m.mu.
func (m *Store) putFlowRecord(id string, rec memoryRecord) {
	if !m.now().Before(rec.until) {
		delete(m.flows, id)
		return
	}
	m.flows[id] = rec.marked(m.now())
}

// marked is the record as it is kept at now: a Marked flow past its expiry
// is its marker alone.
func (r memoryRecord) marked(now time.Time) memoryRecord {
	if r.marker != "" && !now.Before(r.expiresAt) {
		return memoryRecord{data: r.marker, until: r.until}
	}
	return r
}

// liveRecord returns records[id] unless it expired; an expired one is
// removed. The caller holds m.mu.
func (m *Store) liveRecord(records map[string]memoryRecord, id string) (memoryRecord, bool) {
	rec, ok := records[id]
	if !ok {
		return memoryRecord{}, false
	}
	if !m.now().Before(rec.until) {
		delete(records, id)
		return memoryRecord{}, false
	}
	if marked := rec.marked(m.now()); marked.marker != rec.marker {
		records[id] = marked // the whole flow is no longer kept
		rec = marked
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
			switch {
			case !now.Before(rec.until):
				delete(records, id)
			case rec.marker != "" && !now.Before(rec.expiresAt):
				records[id] = rec.marked(now)
			}
		}
	}
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

// decodeSessionAndIdentity decodes a stored session and identity.
func decodeSessionAndIdentity(sess, ident string) (*identity.Session, *identity.Identity, error) {
	s, err := decodeMemory[identity.Session](sess)
	if err != nil {
		return nil, nil, err
	}
	id, err := decodeMemory[identity.Identity](ident)
	if err != nil {
		return nil, nil, err
	}
	return s, id, nil
}

// decodeMemory decodes a record the Store wrote.
func decodeMemory[T any](data string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, fmt.Errorf("memstore: %w: %T: %v", identity.ErrCorrupt, v, err)
	}
	return v, nil
}

// Ping implements identity.Pinger: the memory store always answers.
func (m *Store) Ping(context.Context) error { return nil }
