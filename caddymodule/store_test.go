package caddymodule

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/redisstore"
)

func TestMemoryStoreSharedAcrossHandlersAndReloads(t *testing.T) {
	made := watchMemoryStores(t)
	schema := writeSchema(t)

	site := &Handler{IdentitySchema: schema}
	admin := &Handler{IdentitySchema: schema, Admin: true, Store: &StoreConfig{Type: "memory"}}
	for _, h := range []*Handler{site, admin} {
		if err := h.Provision(caddyContext(t)); err != nil {
			t.Fatal(err)
		}
	}
	if len(*made) != 1 {
		t.Fatalf("%d memory stores opened, want 1", len(*made))
	}
	if site.store != admin.store {
		t.Fatal("the site and the admin handler have different memory stores")
	}

	// A reload provisions the new config before the old one is cleaned up.
	reloaded := &Handler{IdentitySchema: schema}
	if err := reloaded.Provision(caddyContext(t)); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*Handler{site, admin} {
		if err := h.Cleanup(); err != nil {
			t.Fatal(err)
		}
	}
	store := (*made)[0]
	if reloaded.store != store {
		t.Error("the reloaded handler got a new memory store; the data would be lost")
	}
	if n := store.closed.Load(); n != 0 {
		t.Fatalf("store closed while still in use (%d times)", n)
	}

	if err := reloaded.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n := store.closed.Load(); n != 1 {
		t.Errorf("store closed %d times after the last user left, want 1", n)
	}
}

func TestPoolKey(t *testing.T) {
	redis := func(r redisstore.Options) *StoreConfig { return &StoreConfig{Type: "redis", Redis: &r} }

	if k := (*StoreConfig)(nil).poolKey(); k != "memory" {
		t.Errorf("default store key %q, want memory", k)
	}
	if k := (&StoreConfig{Type: "memory"}).poolKey(); k != "memory" {
		t.Errorf("memory store key %q, want memory", k)
	}

	a := redis(redisstore.Options{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "a"})
	if a.poolKey() != redis(redisstore.Options{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "a"}).poolKey() {
		t.Error("equal Redis configs have different keys")
	}
	for name, other := range map[string]*StoreConfig{
		"password":   redis(redisstore.Options{Addrs: []string{"r:6379"}, Password: "other", KeyPrefix: "a"}),
		"key prefix": redis(redisstore.Options{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "b"}),
		"db":         redis(redisstore.Options{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "a", DB: 1}),
		"wait":       redis(redisstore.Options{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "a", WaitReplicas: 1}),
	} {
		if a.poolKey() == other.poolKey() {
			t.Errorf("configs differing in %s share a key", name)
		}
	}

	withURL := redis(redisstore.Options{URLs: []string{"redis://user:hunter2@r:6379/0"}, Password: "hunter2"})
	key := withURL.poolKey()
	if strings.Contains(key, "hunter2") {
		t.Errorf("key %q contains the password", key)
	}
	if withURL.Redis.URLs[0] != "redis://user:hunter2@r:6379/0" {
		t.Errorf("poolKey changed the config's URL to %q", withURL.Redis.URLs[0])
	}
}

// TestRedisBlockJSONNames pins the JSON names of the store's redis block,
// which is redisstore.Options itself: every field has a name, and the names
// configs already use keep working.
func TestRedisBlockJSONNames(t *testing.T) {
	const raw = `{"type": "redis", "redis": {"urls": ["redis://r"], "addrs": ["r:6379"], "master_name": "m",
		"cluster": true, "username": "u", "password": "p", "db": 3, "tls": true, "key_prefix": "k",
		"wait_replicas": 1, "wait_timeout": 250000000}}`
	var c StoreConfig
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := redisstore.Options{
		URLs: []string{"redis://r"}, Addrs: []string{"r:6379"}, MasterName: "m", Cluster: true,
		Username: "u", Password: "p", DB: 3, TLS: true, KeyPrefix: "k",
		WaitReplicas: 1, WaitTimeout: 250 * time.Millisecond,
	}
	if !reflect.DeepEqual(*c.Redis, want) {
		t.Errorf("decoded %+v, want %+v", *c.Redis, want)
	}
	// Every field set above, so a field added to Options without a JSON name
	// here shows as a zero value.
	v := reflect.ValueOf(*c.Redis)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Tag.Get("json") == "" {
			t.Errorf("redisstore.Options.%s has no JSON name", f.Name)
		}
		if v.Field(i).IsZero() {
			t.Errorf("redisstore.Options.%s is not covered by this test", f.Name)
		}
	}
}
