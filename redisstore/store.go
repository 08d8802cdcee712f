// Package redisstore keeps identities, sessions and flows in Redis
// (standalone, Sentinel or Cluster). It is the only package that knows Redis.
package redisstore

import "github.com/seed06f30684/caddy-kratos/flows"

// Options say which Redis to use. STUB: the implementation fills this in.
type Options struct {
	// URLs are redis:// or rediss:// URLs; several URLs mean a cluster.
	URLs []string `json:"urls,omitempty"`
	// KeyPrefix is put before every key.
	KeyPrefix string `json:"key_prefix,omitempty"`
}

// Store is a flows.Store on Redis.
type Store struct{ flows.Store }

// New returns a Store for opts. It does not connect: the first command does.
func New(opts Options) (*Store, error) { return &Store{}, nil }
