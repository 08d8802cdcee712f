package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seed06f30684/caddy-kratos/identity"
)

// SaveFlow implements identity.Store: the flow expires from Redis at
// identity.KeepUntil; a Marked flow at its ExpiresAt, its marker at
// KeepUntil.
func (s *Store) SaveFlow(ctx context.Context, f *identity.Flow) error {
	if f == nil || !validID(f.ID) {
		return errors.New("redisstore: flow without a valid id")
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("redisstore: encode flow: %w", err)
	}
	if !identity.Marked(f) {
		err = s.client.Do(ctx, "SET", s.keys.flow(f.ID), data, "PXAT", pxat(identity.KeepUntil(f))).Err()
		return wrap("save flow", err)
	}
	// The whole flow until it expires, its marker until KeepUntil: one
	// round trip, both keys in the flow's slot.
	marker, err := json.Marshal(f.Marker())
	if err != nil {
		return fmt.Errorf("redisstore: encode flow: %w", err)
	}
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		if f.ExpiresAt.After(time.Now()) {
			p.Do(ctx, "SET", s.keys.flow(f.ID), data, "PXAT", pxat(f.ExpiresAt))
		} else {
			p.Del(ctx, s.keys.flow(f.ID))
		}
		p.Do(ctx, "SET", s.keys.flowMarker(f.ID), marker, "PXAT", pxat(identity.KeepUntil(f)))
		return nil
	})
	return wrap("save flow", err)
}

// GetFlow implements identity.Store.
func (s *Store) GetFlow(ctx context.Context, id string) (*identity.Flow, error) {
	if !validID(id) {
		return nil, identity.ErrNotFound
	}
	// The whole flow, else (a Marked flow that expired) its marker.
	vals, err := s.client.MGet(ctx, s.keys.flow(id), s.keys.flowMarker(id)).Result()
	if err != nil {
		return nil, wrap("get flow", err)
	}
	for _, v := range vals {
		if data, ok := v.(string); ok {
			return decode[identity.Flow](data)
		}
	}
	return nil, identity.ErrNotFound
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

// flowMarker is the key of an expired Marked flow's marker.
func (k keys) flowMarker(id string) string {
	return k.tag(identity.RoutingKey(id)) + "flow-expired:" + id
}

// flow is the key of the flow with this id.
func (k keys) flow(id string) string { return k.tag(identity.RoutingKey(id)) + "flow:" + id }

// continuity is the key of the continuity payload with this id.
func (k keys) continuity(id string) string {
	return k.tag(identity.RoutingKey(id)) + "continuity:" + id
}
