package caddymodule

import (
	"reflect"
	"strings"
	"testing"
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
	redis := func(r RedisConfig) *StoreConfig { return &StoreConfig{Type: "redis", Redis: &r} }

	if k := (*StoreConfig)(nil).poolKey(); k != "memory" {
		t.Errorf("default store key %q, want memory", k)
	}
	if k := (&StoreConfig{Type: "memory"}).poolKey(); k != "memory" {
		t.Errorf("memory store key %q, want memory", k)
	}

	a := redis(RedisConfig{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "a"})
	if a.poolKey() != redis(RedisConfig{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "a"}).poolKey() {
		t.Error("equal Redis configs have different keys")
	}
	for name, other := range map[string]*StoreConfig{
		"password":   redis(RedisConfig{Addrs: []string{"r:6379"}, Password: "other", KeyPrefix: "a"}),
		"key prefix": redis(RedisConfig{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "b"}),
		"db":         redis(RedisConfig{Addrs: []string{"r:6379"}, Password: "hunter2", KeyPrefix: "a", DB: 1}),
	} {
		if a.poolKey() == other.poolKey() {
			t.Errorf("configs differing in %s share a key", name)
		}
	}

	withURL := redis(RedisConfig{URLs: []string{"redis://user:hunter2@r:6379/0"}, Password: "hunter2"})
	key := withURL.poolKey()
	if strings.Contains(key, "hunter2") {
		t.Errorf("key %q contains the password", key)
	}
	if withURL.Redis.URLs[0] != "redis://user:hunter2@r:6379/0" {
		t.Errorf("poolKey changed the config's URL to %q", withURL.Redis.URLs[0])
	}
}

// TestRedisOptionsMapsEveryField guards redisOptions: every field of
// redisstore.Options must exist in RedisConfig under the same Go and JSON
// name and type, and carry the config's value.
func TestRedisOptionsMapsEveryField(t *testing.T) {
	c := RedisConfig{
		URLs: []string{"redis://r"}, Addrs: []string{"r:6379"}, MasterName: "m", Cluster: true,
		Username: "u", Password: "p", DB: 3, TLS: true, KeyPrefix: "k",
	}
	cv := reflect.ValueOf(c)
	// Every field set, so an unmapped one shows as a zero value.
	for i := range cv.NumField() {
		if cv.Field(i).IsZero() {
			t.Fatalf("test config leaves %s unset", cv.Type().Field(i).Name)
		}
	}

	ov := reflect.ValueOf(redisOptions(&c))
	for i := range ov.NumField() {
		of := ov.Type().Field(i)
		if !of.IsExported() {
			continue
		}
		cf, ok := cv.Type().FieldByName(of.Name)
		if !ok {
			t.Errorf("redisstore.Options.%s has no RedisConfig field", of.Name)
			continue
		}
		if cf.Type != of.Type || cf.Tag.Get("json") != of.Tag.Get("json") {
			t.Errorf("%s: RedisConfig has %s `json:%q`, redisstore.Options has %s `json:%q`",
				of.Name, cf.Type, cf.Tag.Get("json"), of.Type, of.Tag.Get("json"))
			continue
		}
		if got, want := ov.Field(i).Interface(), cv.FieldByName(of.Name).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("redisOptions leaves Options.%s = %v, want %v (map it in redisOptions)", of.Name, got, want)
		}
	}
}
