package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// sweepEvery is how often (on the store's clock) a write also removes every
// expired entry, so that entries nobody reads again do not stay forever.
const sweepEvery = time.Minute

// MemoryStore is the embedded Store: everything lives in this process's
// memory, behind one mutex. It is the default when no Redis is configured and
// the reference the Redis store is tested against.
//
// Records are kept as JSON, the form the Redis store keeps, so both stores
// answer with the same values (a number in traits comes back as float64) and
// no caller can change a stored record through a pointer it still holds.
type MemoryStore struct {
	now func() time.Time

	mu          sync.Mutex
	identities  map[string]memoryIdentity      // identity id → identity
	identifiers map[string]string              // lower-cased identifier → identity id
	sessions    map[string]memorySession       // token hash → session
	sessionIDs  map[string]string              // session id → token hash
	owned       map[string]map[string]struct{} // identity id → token hashes of its sessions
	flows       map[string]memoryRecord        // flow id → flow, kept FlowGrace past its expiry
	continuity  map[string]memoryRecord        // continuity id → paused payload
	lastSweep   time.Time                      // when expired entries were last removed
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
}

// memoryRecord is a stored flow or continuity payload and when it goes.
type memoryRecord struct {
	data  string
	until time.Time
}

// NewMemoryStore returns an empty MemoryStore on the system clock.
func NewMemoryStore() *MemoryStore {
	return NewMemoryStoreWithClock(time.Now)
}

// NewMemoryStoreWithClock returns an empty MemoryStore whose expiries follow
// the clock now (tests move it instead of sleeping; the Service's Config.Now
// should be the same clock). A nil now is time.Now.
func NewMemoryStoreWithClock(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{
		now:         now,
		identities:  map[string]memoryIdentity{},
		identifiers: map[string]string{},
		sessions:    map[string]memorySession{},
		sessionIDs:  map[string]string{},
		owned:       map[string]map[string]struct{}{},
		flows:       map[string]memoryRecord{},
		continuity:  map[string]memoryRecord{},
		lastSweep:   now(),
	}
}

var _ Store = (*MemoryStore)(nil)

// CreateIdentity implements Store.
func (m *MemoryStore) CreateIdentity(_ context.Context, id *Identity) error {
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
		return ErrExists
	}
	if m.anyTakenBy(idents, id.ID) {
		return ErrDuplicateIdentifier
	}
	m.identities[id.ID] = memoryIdentity{data: string(data), version: 1, identifiers: idents}
	for _, ident := range idents {
		m.identifiers[ident] = id.ID
	}
	id.Version = 1
	return nil
}

// GetIdentity implements Store.
func (m *MemoryStore) GetIdentity(_ context.Context, id string) (*Identity, error) {
	m.mu.Lock()
	rec, ok := m.identities[id]
	m.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	return decodeMemory[Identity](rec.data)
}

// FindIdentityByIdentifier implements Store.
func (m *MemoryStore) FindIdentityByIdentifier(_ context.Context, identifier string) (*Identity, error) {
	m.mu.Lock()
	rec, ok := m.identities[m.identifiers[strings.ToLower(identifier)]]
	m.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	return decodeMemory[Identity](rec.data)
}

// UpdateIdentity implements Store.
func (m *MemoryStore) UpdateIdentity(_ context.Context, id *Identity) error {
	return m.updateIdentity(id, nil)
}

// UpdateIdentityAndFlow implements Store. stored is not needed: the
// identifiers are at hand.
func (m *MemoryStore) UpdateIdentityAndFlow(_ context.Context, _, id *Identity, f *Flow) error {
	if f == nil || f.ID == "" {
		return errors.New("flows: flow without id")
	}
	if id != nil && RoutingKey(f.ID) != RoutingKey(id.ID) {
		return fmt.Errorf("flows: flow %s does not share the routing key of identity %s (make its id with NewIDFor)", f.ID, id.ID)
	}
	return m.updateIdentity(id, f)
}

// updateIdentity writes id (and f, when not nil) if id.Version is the
// stored version.
func (m *MemoryStore) updateIdentity(id *Identity, f *Flow) error {
	if id == nil || id.ID == "" {
		return errors.New("flows: identity without id")
	}
	c := *id
	c.Version = id.Version + 1
	data, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("flows: encode identity: %w", err)
	}
	var flowData []byte
	if f != nil {
		if flowData, err = json.Marshal(f); err != nil {
			return fmt.Errorf("flows: encode flow: %w", err)
		}
	}
	idents := lowerIdentifiers(id.Identifiers())

	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	stored, ok := m.identities[id.ID]
	if !ok {
		return ErrNotFound
	}
	if stored.version != id.Version {
		return ErrVersionConflict
	}
	if m.anyTakenBy(idents, id.ID) {
		return ErrDuplicateIdentifier
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
		m.putFlow(f.ID, string(flowData), f.ExpiresAt.Add(FlowGrace))
	}
	id.Version = c.Version
	return nil
}

// DeleteIdentity implements Store.
func (m *MemoryStore) DeleteIdentity(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, ok := m.identities[id]
	if !ok {
		return ErrNotFound
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
func (m *MemoryStore) ListIdentities(_ context.Context, after string, limit int) ([]*Identity, string, error) {
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

	out := make([]*Identity, len(data))
	for i, d := range data {
		id, err := decodeMemory[Identity](d)
		if err != nil {
			return nil, "", err
		}
		out[i] = id
	}
	return out, next, nil
}

// CreateSession implements Store.
func (m *MemoryStore) CreateSession(_ context.Context, s *Session) error {
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
		return ErrExists
	}
	if hash, ok := m.sessionIDs[s.ID]; ok {
		if _, ok := m.liveSession(hash); ok {
			return ErrExists
		}
	}
	m.putSession(s, string(data))
	return nil
}

// GetSession implements Store.
func (m *MemoryStore) GetSession(_ context.Context, token string) (*Session, *Identity, error) {
	m.mu.Lock()
	sess, ident, err := m.sessionAndIdentity(token)
	m.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	return decodeSessionAndIdentity(sess, ident)
}

// GetSessionByID implements Store.
func (m *MemoryStore) GetSessionByID(_ context.Context, id string) (*Session, error) {
	m.mu.Lock()
	rec, ok := m.liveSession(m.sessionIDs[id])
	m.mu.Unlock()
	if !ok || rec.id != id {
		return nil, ErrNotFound
	}
	return decodeMemory[Session](rec.data)
}

// UpdateSession implements Store. The session is found by its id, and its
// token hash and identity must be the stored ones.
func (m *MemoryStore) UpdateSession(_ context.Context, s *Session) error {
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
		return ErrNotFound
	}
	m.removeSession(hash)
	m.putSession(s, string(data))
	return nil
}

// ListSessions implements Store.
func (m *MemoryStore) ListSessions(_ context.Context, identityID string) ([]*Session, error) {
	m.mu.Lock()
	var data []string
	for hash := range m.owned[identityID] {
		if rec, ok := m.liveSession(hash); ok {
			data = append(data, rec.data)
		}
	}
	m.mu.Unlock()

	out := make([]*Session, 0, len(data))
	for _, d := range data {
		s, err := decodeMemory[Session](d)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sortNewestFirst(out)
	return out, nil
}

// DeleteSession implements Store.
func (m *MemoryStore) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	hash := m.sessionIDs[id]
	if rec, ok := m.liveSession(hash); !ok || rec.id != id {
		return ErrNotFound
	}
	m.removeSession(hash)
	return nil
}

// DeleteSessions implements Store.
func (m *MemoryStore) DeleteSessions(_ context.Context, identityID, keep string) (int, error) {
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
func (m *MemoryStore) SaveFlow(_ context.Context, f *Flow) error {
	if f == nil || f.ID == "" {
		return errors.New("flows: flow without id")
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("flows: encode flow: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep()
	m.putFlow(f.ID, string(data), f.ExpiresAt.Add(FlowGrace))
	return nil
}

// GetFlow implements Store.
func (m *MemoryStore) GetFlow(_ context.Context, id string) (*Flow, error) {
	m.mu.Lock()
	rec, ok := m.liveRecord(m.flows, id)
	m.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	return decodeMemory[Flow](rec.data)
}

// GetSessionAndFlow implements Store.
func (m *MemoryStore) GetSessionAndFlow(_ context.Context, token, flowID string) (*Session, *Identity, *Flow, error) {
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
	f, err := decodeMemory[Flow](flow.data)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, id, f, nil
}

// SaveContinuity implements Store.
func (m *MemoryStore) SaveContinuity(_ context.Context, id string, payload []byte, ttl time.Duration) error {
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
func (m *MemoryStore) TakeContinuity(_ context.Context, id string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.liveRecord(m.continuity, id)
	if !ok {
		return nil, ErrNotFound
	}
	delete(m.continuity, id)
	return []byte(rec.data), nil
}

// Close implements Store; a MemoryStore holds no connections.
func (m *MemoryStore) Close() error { return nil }

// sortNewestFirst orders sessions by IssuedAt, newest first (ties by id),
// the order ListSessions answers in.
func sortNewestFirst(ss []*Session) {
	sort.SliceStable(ss, func(i, j int) bool {
		if !ss[i].IssuedAt.Equal(ss[j].IssuedAt) {
			return ss[i].IssuedAt.After(ss[j].IssuedAt)
		}
		return ss[i].ID > ss[j].ID
	})
}

// anyTakenBy reports whether one of idents belongs to an identity other than
// owner. The caller holds m.mu.
func (m *MemoryStore) anyTakenBy(idents []string, owner string) bool {
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
func (m *MemoryStore) sessionAndIdentity(token string) (string, string, error) {
	rec, ok := m.liveSession(HashToken(token))
	if !ok || RoutingKey(token) != RoutingKey(rec.identityID) {
		return "", "", ErrNotFound
	}
	ident, ok := m.identities[rec.identityID]
	if !ok {
		return "", "", ErrNotFound
	}
	return rec.data, ident.data, nil
}

// liveSession returns the session stored under hash unless it expired; an
// expired one is removed. The caller holds m.mu.
func (m *MemoryStore) liveSession(hash string) (memorySession, bool) {
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
func (m *MemoryStore) putSession(s *Session, data string) {
	if !m.now().Before(s.ExpiresAt) {
		return
	}
	m.sessions[s.TokenHash] = memorySession{data: data, id: s.ID, identityID: s.IdentityID, expiresAt: s.ExpiresAt}
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
func (m *MemoryStore) removeSession(hash string) {
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

// putFlow stores a flow's JSON until until, or drops it when that has passed.
// The caller holds m.mu.
func (m *MemoryStore) putFlow(id, data string, until time.Time) {
	if !m.now().Before(until) {
		delete(m.flows, id)
		return
	}
	m.flows[id] = memoryRecord{data: data, until: until}
}

// liveRecord returns records[id] unless it expired; an expired one is
// removed. The caller holds m.mu.
func (m *MemoryStore) liveRecord(records map[string]memoryRecord, id string) (memoryRecord, bool) {
	rec, ok := records[id]
	if !ok {
		return memoryRecord{}, false
	}
	if !m.now().Before(rec.until) {
		delete(records, id)
		return memoryRecord{}, false
	}
	return rec, true
}

// maybeSweep removes every expired entry if the last sweep is sweepEvery
// ago. The caller holds m.mu.
func (m *MemoryStore) maybeSweep() {
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
			}
		}
	}
}

// checkMemorySession rejects a session the store could not index, or whose
// id does not share its identity's routing key (the Redis store needs that,
// so the memory store refuses it too).
func checkMemorySession(s *Session) error {
	switch {
	case s == nil || s.ID == "" || s.IdentityID == "" || s.TokenHash == "":
		return errors.New("flows: session without id, identity id or token hash")
	case RoutingKey(s.ID) != RoutingKey(s.IdentityID):
		return fmt.Errorf("flows: session id %s does not share the routing key of identity %s (make it with NewIDFor)", s.ID, s.IdentityID)
	}
	return nil
}

// lowerIdentifiers returns idents lower-cased, without repeats.
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
func decodeSessionAndIdentity(sess, ident string) (*Session, *Identity, error) {
	s, err := decodeMemory[Session](sess)
	if err != nil {
		return nil, nil, err
	}
	id, err := decodeMemory[Identity](ident)
	if err != nil {
		return nil, nil, err
	}
	return s, id, nil
}

// decodeMemory decodes a record the MemoryStore wrote.
func decodeMemory[T any](data string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, fmt.Errorf("flows: decode stored %T: %w", v, err)
	}
	return v, nil
}
