package caddymodule

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/memstore"
	"github.com/seed06f30684/caddy-kratos/redisstore"
)

// Store types.
const (
	storeMemory = "memory"
	storeRedis  = "redis"
)

// StoreConfig says where identities, sessions and flows are kept.
type StoreConfig struct {
	// Type is "memory" (the default) or "redis".
	//
	// The memory store is shared by every kratos handler in the Caddy
	// process that uses it, and it survives config reloads, but it is lost
	// when Caddy stops and it is not shared between Caddy instances.
	Type string `json:"type,omitempty"`

	// Redis configures the Redis store: a standalone server, a Sentinel
	// group or a Cluster; give either urls or addrs. Only used (and
	// required) when type is "redis". Placeholders such as
	// "{env.REDIS_PASSWORD}" are expanded when the config is loaded.
	Redis *redisstore.Options `json:"redis,omitempty"`
}

// typeOrDefault is the store type, "memory" when unset.
func (c *StoreConfig) typeOrDefault() string {
	if c == nil || c.Type == "" {
		return storeMemory
	}
	return c.Type
}

// expandRedis replaces global placeholders ({env.*}, {file.*}) in the
// string options of the Redis store.
func expandRedis(c *redisstore.Options, repl *caddy.Replacer) {
	for i, u := range c.URLs {
		c.URLs[i] = repl.ReplaceKnown(u, "")
	}
	for i, a := range c.Addrs {
		c.Addrs[i] = repl.ReplaceKnown(a, "")
	}
	c.MasterName = repl.ReplaceKnown(c.MasterName, "")
	c.Username = repl.ReplaceKnown(c.Username, "")
	c.Password = repl.ReplaceKnown(c.Password, "")
	c.KeyPrefix = repl.ReplaceKnown(c.KeyPrefix, "")
}

// validate checks the store config; errors name the option.
func (c *StoreConfig) validate() error {
	switch c.typeOrDefault() {
	case storeMemory:
		if c != nil && c.Redis != nil {
			return fmt.Errorf("store: redis options given but the store type is %q; set type to \"redis\"", storeMemory)
		}
		return nil
	case storeRedis:
		if c.Redis == nil {
			return fmt.Errorf("store: type redis needs redis options (urls or addrs)")
		}
		if err := c.Redis.Validate(); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("store: unknown type %q; expected \"memory\" or \"redis\"", c.Type)
	}
}

// poolKey identifies the store this config opens. Every handler in the
// process with the same key shares one store: all memory stores are one,
// and Redis configs that differ in nothing share a client. The password
// enters the key only as a hash.
func (c *StoreConfig) poolKey() string {
	if c.typeOrDefault() != storeRedis {
		return storeMemory
	}
	return storeRedis + ":" + c.Redis.Key()
}

// stores holds the stores in use, shared by key across handlers and config
// reloads; the last user to leave closes the store.
var stores = caddy.NewUsagePool()

// pooledStore is a store in the pool.
type pooledStore struct{ identity.Store }

// Destruct closes the store when its last user has gone.
func (s pooledStore) Destruct() error { return s.Close() }

// Constructors of the stores; tests replace newMemoryStore to watch Close.
// The memory store expires records by the handlers' clock (clockNow).
var (
	newMemoryStore = func() identity.Store { return memstore.NewWithClock(clockNow) }
	newRedisStore  = func(o redisstore.Options) (identity.Store, error) { return redisstore.New(o) }
)

// loadStore returns the pooled store under key, opening it when no
// handler uses it yet (opened). It never contacts Redis.
func loadStore(key string, c *StoreConfig) (store identity.Store, opened bool, err error) {
	v, loaded, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		if c.typeOrDefault() == storeRedis {
			s, err := newRedisStore(*c.Redis)
			if err != nil {
				return nil, err
			}
			return pooledStore{s}, nil
		}
		return pooledStore{newMemoryStore()}, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v.(pooledStore).Store, !loaded, nil
}

// pingTimeout bounds the start-up check of a Redis store.
const pingTimeout = 5 * time.Second

// pingOnce checks, once and without holding up provisioning (so validate
// and reload never wait on Redis), that a newly opened store answers, and
// warns naming its endpoints when it does not: otherwise only the first
// request would tell.
func pingOnce(ctx context.Context, s identity.Store, endpoints []string, log *zap.Logger) {
	p, ok := s.(interface{ Ping(context.Context) error })
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := p.Ping(ctx); err != nil && ctx.Err() != context.Canceled {
		log.Warn("the Redis store does not answer; requests that need it will get 503 until it does",
			zap.Strings("endpoints", endpoints), zap.Error(err))
	}
}
