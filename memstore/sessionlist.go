package memstore

import (
	"context"
	"fmt"
	"sort"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// RevokeSessions implements identity.Sessions.
func (m *Store) RevokeSessions(_ context.Context, identityID, keep string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for hash := range m.owned[identityID] {
		rec, ok := m.liveSession(hash)
		if !ok || rec.id == keep {
			continue
		}
		n++
		if !rec.rec.Active {
			continue
		}
		// Stored records are never changed in place (readers copy them
		// without the lock): a new one shares what did not change.
		s := *rec.rec
		s.Active = false
		rec.rec = &s
		m.sessions[hash] = rec
	}
	return n, nil
}

// ListAllSessions implements identity.Sessions.
func (m *Store) ListAllSessions(_ context.Context, after string, limit int) ([]identity.SessionWithIdentity, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("memstore: list limit %d is not positive", limit)
	}
	type listed struct {
		cursor string
		sess   *identity.Session
		ident  *identity.Identity
	}
	m.mu.Lock()
	var all []listed
	for hash := range m.sessions {
		rec, ok := m.liveSession(hash)
		if !ok || rec.cursor <= after {
			continue
		}
		if ident, ok := m.identities[rec.identityID]; ok {
			all = append(all, listed{rec.cursor, rec.rec, ident.rec})
		}
	}
	m.mu.Unlock()

	sort.Slice(all, func(i, j int) bool { return all[i].cursor < all[j].cursor })
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = all[limit-1].cursor
	}
	out := make([]identity.SessionWithIdentity, 0, len(all))
	for _, l := range all {
		s, id, err := readSessionAndIdentity(l.sess, l.ident)
		if err != nil {
			continue // as the Redis store: one bad record does not hide the others
		}
		out = append(out, identity.SessionWithIdentity{Session: s, Identity: id})
	}
	return out, next, nil
}
