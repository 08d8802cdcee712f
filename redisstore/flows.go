package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
)

// SaveFlow implements identity.Store: the flow expires from Redis FlowGrace
// after its ExpiresAt.
func (s *Store) SaveFlow(ctx context.Context, f *identity.Flow) error {
	if f == nil || !validID(f.ID) {
		return errors.New("redisstore: flow without a valid id")
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("redisstore: encode flow: %w", err)
	}
	err = s.client.Do(ctx, "SET", s.keys.flow(f.ID), data, "PXAT", pxat(identity.KeepUntil(f))).Err()
	return wrap("save flow", err)
}

// GetFlow implements identity.Store.
func (s *Store) GetFlow(ctx context.Context, id string) (*identity.Flow, error) {
	if !validID(id) {
		return nil, identity.ErrNotFound
	}
	data, err := s.client.Get(ctx, s.keys.flow(id)).Result()
	if err != nil {
		return nil, wrap("get flow", err)
	}
	return decode[identity.Flow](data)
}

// SaveContinuity implements identity.Store.
func (s *Store) SaveContinuity(ctx context.Context, id string, payload []byte, ttl time.Duration) error {
	if !validID(id) {
		return errors.New("redisstore: continuity without a valid id")
	}
	if ttl <= 0 {
		return fmt.Errorf("redisstore: continuity ttl %s is not positive", ttl)
	}
	ms := (ttl + time.Millisecond - 1).Milliseconds()
	err := s.client.Do(ctx, "SET", s.keys.continuity(id), payload, "PX", ms).Err()
	return wrap("save continuity", err)
}

// TakeContinuity implements identity.Store.
func (s *Store) TakeContinuity(ctx context.Context, id string) ([]byte, error) {
	if !validID(id) {
		return nil, identity.ErrNotFound
	}
	data, err := s.client.GetDel(ctx, s.keys.continuity(id)).Bytes()
	if err != nil {
		return nil, wrap("take continuity", err)
	}
	return data, nil
}

// The keys and scripts of these records.

// flow is the key of the flow with this id.
func (k keys) flow(id string) string { return k.tag(identity.RoutingKey(id)) + "flow:" + id }

// continuity is the key of the continuity payload with this id.
func (k keys) continuity(id string) string {
	return k.tag(identity.RoutingKey(id)) + "continuity:" + id
}
