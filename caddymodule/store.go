package caddymodule

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"

	"github.com/seed06f30684/caddy-kratos/flows"
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

	// Redis configures the Redis store. Only used (and required) when
	// type is "redis".
	Redis *RedisConfig `json:"redis,omitempty"`
}

// RedisConfig says which Redis to use: a standalone server, a Sentinel
// group or a Cluster. Give either urls or addrs.
//
// Its fields are those of redisstore.Options, with the same JSON names.
type RedisConfig struct {
	// URLs are redis:// or rediss:// (TLS) URLs, e.g.
	// "redis://:secret@localhost:6379/0". Several URLs are the seeds of a
	// Cluster, unless master_name is set.
	URLs []string `json:"urls,omitempty"`

	// Addrs are host:port addresses: of the server, of the Sentinels (with
	// master_name) or of Cluster nodes (with cluster).
	Addrs []string `json:"addrs,omitempty"`

	// MasterName is the name of the master monitored by the Sentinels at
	// addrs.
	MasterName string `json:"master_name,omitempty"`

	// Cluster treats addrs as the seed nodes of a Redis Cluster.
	Cluster bool `json:"cluster,omitempty"`

	// Username is the ACL user to authenticate as.
	Username string `json:"username,omitempty"`

	// Password authenticates the connection. Use a placeholder such as
	// "{env.REDIS_PASSWORD}" to keep it out of the config.
	Password string `json:"password,omitempty"`

	// DB is the database number (standalone and Sentinel only).
	DB int `json:"db,omitempty"`

	// TLS connects with TLS (a rediss:// URL implies it).
	TLS bool `json:"tls,omitempty"`

	// KeyPrefix is put before every key, so several deployments can share
	// one Redis.
	KeyPrefix string `json:"key_prefix,omitempty"`
}

// redisOptions maps the config onto the store's options.
func redisOptions(c *RedisConfig) redisstore.Options {
	return redisstore.Options{
		URLs:       c.URLs,
		Addrs:      c.Addrs,
		MasterName: c.MasterName,
		Cluster:    c.Cluster,
		Username:   c.Username,
		Password:   c.Password,
		DB:         c.DB,
		TLS:        c.TLS,
		KeyPrefix:  c.KeyPrefix,
	}
}

// typeOrDefault is the store type, "memory" when unset.
func (c *StoreConfig) typeOrDefault() string {
	if c == nil || c.Type == "" {
		return storeMemory
	}
	return c.Type
}

// expand replaces global placeholders ({env.*}, {file.*}) in the string
// options.
func (c *RedisConfig) expand(repl *caddy.Replacer) {
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
		return c.Redis.validate()
	default:
		return fmt.Errorf("store: unknown type %q; expected \"memory\" or \"redis\"", c.Type)
	}
}

// validate checks the Redis options.
func (c *RedisConfig) validate() error {
	if err := redisOptions(c).Validate(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// poolKey identifies the store this config opens. Every handler in the
// process with the same key shares one store: all memory stores are one,
// and Redis configs that differ in nothing share a client. The password
// enters the key only as a hash.
func (c *StoreConfig) poolKey() string {
	if c.typeOrDefault() != storeRedis {
		return storeMemory
	}
	return storeRedis + ":" + redisOptions(c.Redis).Key()
}

// stores holds the stores in use, shared by key across handlers and config
// reloads; the last user to leave closes the store.
var stores = caddy.NewUsagePool()

// pooledStore is a store in the pool.
type pooledStore struct{ flows.Store }

// Destruct closes the store when its last user has gone.
func (s pooledStore) Destruct() error { return s.Close() }

// Constructors of the stores; tests replace newMemoryStore to watch Close.
var (
	newMemoryStore = func() flows.Store { return flows.NewMemoryStore() }
	newRedisStore  = func(o redisstore.Options) (flows.Store, error) { return redisstore.New(o) }
)

// loadStore returns the pooled store under key, opening it when no
// handler uses it yet. It never contacts Redis.
func loadStore(key string, c *StoreConfig) (flows.Store, error) {
	v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		if c.typeOrDefault() == storeRedis {
			s, err := newRedisStore(redisOptions(c.Redis))
			if err != nil {
				return nil, err
			}
			return pooledStore{s}, nil
		}
		return pooledStore{newMemoryStore()}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(pooledStore).Store, nil
}
