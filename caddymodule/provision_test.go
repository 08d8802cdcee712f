package caddymodule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/seed06f30684/caddy-kratos/flows"
	"github.com/seed06f30684/caddy-kratos/redisstore"
)

func TestProvisionDefaults(t *testing.T) {
	watchMemoryStores(t)
	h := &Handler{IdentitySchema: writeSchema(t)}
	if err := provision(t, h); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if h.PublicPrefix != flows.DefaultPublicPrefix {
		t.Errorf("public_prefix = %q", h.PublicPrefix)
	}
	for name, got := range map[string]caddy.Duration{
		"privileged_session_max_age": h.PrivilegedSessionMaxAge,
		"flow_lifespan":              h.FlowLifespan,
		"session_lifespan":           h.SessionLifespan,
	} {
		want := map[string]time.Duration{
			"privileged_session_max_age": 15 * time.Minute,
			"flow_lifespan":              time.Hour,
			"session_lifespan":           24 * time.Hour,
		}[name]
		if time.Duration(got) != want {
			t.Errorf("%s = %v, want %v", name, time.Duration(got), want)
		}
	}
	if h.RevokeSessionsOnPasswordChange == nil || !*h.RevokeSessionsOnPasswordChange {
		t.Error("revoke_sessions_on_password_change should default to true")
	}
	if h.svc == nil || h.store == nil {
		t.Error("service or store not built")
	}
}

func TestProvisionRequiresSchema(t *testing.T) {
	watchMemoryStores(t)
	h := &Handler{}
	err := provision(t, h)
	if err == nil || !strings.Contains(err.Error(), "identity_schema") {
		t.Fatalf("got %v, want an identity_schema error", err)
	}
}

func TestProvisionSchemaErrorNamesFile(t *testing.T) {
	watchMemoryStores(t)
	path := filepath.Join(t.TempDir(), "missing.schema.json")
	h := &Handler{IdentitySchema: path}
	err := provision(t, h)
	if err == nil {
		t.Fatal("Provision accepted a schema file that does not exist")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "identity_schema: ") || !strings.Contains(msg, path) {
		t.Errorf("error %q should start with identity_schema: and name %s", msg, path)
	}
}

func TestProvisionExpandsPlaceholders(t *testing.T) {
	watchRedisStores(t)
	t.Setenv("KRATOS_TEST_SCHEMA", writeSchema(t))
	t.Setenv("KRATOS_TEST_URL", "https://app.example.com")
	t.Setenv("KRATOS_TEST_REDIS", "redis://127.0.0.1:1/2")
	h := &Handler{
		IdentitySchema: "{env.KRATOS_TEST_SCHEMA}",
		PublicURL:      "{env.KRATOS_TEST_URL}",
		UI:             &UIConfig{Login: "{env.KRATOS_TEST_URL}/login"},
		UIStylesheet:   "{env.KRATOS_TEST_URL}/style.css",
		Store:          &StoreConfig{Type: "redis", Redis: &redisstore.Options{URLs: []string{"{env.KRATOS_TEST_REDIS}"}}},
	}
	if err := provision(t, h); err != nil {
		t.Fatal(err)
	}
	if h.PublicURL != "https://app.example.com" || h.UI.Login != "https://app.example.com/login" || h.UIStylesheet != "https://app.example.com/style.css" {
		t.Errorf("public_url %q, ui login %q, ui_stylesheet %q: placeholders not expanded", h.PublicURL, h.UI.Login, h.UIStylesheet)
	}
	if got := h.Store.Redis.URLs[0]; got != "redis://127.0.0.1:1/2" {
		t.Errorf("redis URL %q: placeholder not expanded", got)
	}
}

func TestProvisionRejectsBadStore(t *testing.T) {
	watchMemoryStores(t)
	for _, s := range []*StoreConfig{
		{Type: "etcd"},
		{Type: "redis"},
		{Type: "redis", Redis: &redisstore.Options{}},
		{Type: "redis", Redis: &redisstore.Options{URLs: []string{"http://localhost:6379"}}},
		{Type: "memory", Redis: &redisstore.Options{URLs: []string{"redis://localhost"}}},
	} {
		h := &Handler{IdentitySchema: writeSchema(t), Store: s}
		err := provision(t, h)
		if err == nil || !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("store %+v: got %v, want a store: error", s, err)
		}
	}
}

func TestProvisionRedisDoesNotBlock(t *testing.T) {
	made := watchRedisStores(t)
	h := &Handler{
		IdentitySchema: writeSchema(t),
		Store:          &StoreConfig{Type: "redis", Redis: &redisstore.Options{URLs: []string{"redis://127.0.0.1:1"}}},
	}
	start := time.Now()
	if err := provision(t, h); err != nil {
		t.Fatalf("Provision with an unreachable Redis: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Provision took %v; it must not wait for Redis", d)
	}
	if len(*made) != 1 {
		t.Fatalf("%d Redis stores opened, want 1", len(*made))
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n := (*made)[0].closed.Load(); n != 1 {
		t.Errorf("Redis store closed %d times after the last Cleanup, want 1", n)
	}
}

func TestCleanupAfterFailedProvision(t *testing.T) {
	watchMemoryStores(t)
	for name, h := range map[string]*Handler{
		"no schema":      {},
		"bad store":      {IdentitySchema: writeSchema(t), Store: &StoreConfig{Type: "nope"}},
		"bad public_url": {IdentitySchema: writeSchema(t), PublicURL: "http://[::1"},
	} {
		if err := h.Provision(caddyContext(t)); err == nil {
			t.Errorf("%s: Provision succeeded", name)
		}
		if err := h.Cleanup(); err != nil {
			t.Errorf("%s: Cleanup: %v", name, err)
		}
		if err := h.Cleanup(); err != nil {
			t.Errorf("%s: second Cleanup: %v", name, err)
		}
	}
	if err := new(Handler).Cleanup(); err != nil {
		t.Errorf("Cleanup of a handler never provisioned: %v", err)
	}
}

// A site's translation file with a key we do not have fails provisioning,
// naming the option, the file and the key.
func TestProvisionTranslationsErrorNamesFileAndKey(t *testing.T) {
	watchMemoryStores(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "de.json"), []byte(`{"strings": {"login.titel": "Anmelden"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &Handler{IdentitySchema: writeSchema(t), UI: &UIConfig{Languages: []string{"de", "en"}, Translations: dir}}
	err := provision(t, h)
	if err == nil {
		t.Fatal("Provision accepted an unknown translation key")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "ui: ") || !strings.Contains(msg, filepath.Join(dir, "de.json")) || !strings.Contains(msg, `"login.titel"`) {
		t.Errorf("error %q should start with ui: and name the file and the key", msg)
	}
}
