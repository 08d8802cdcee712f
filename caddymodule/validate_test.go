package caddymodule

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/seed06f30684/caddy-kratos/redisstore"
)

// provisioned is a handler as Provision leaves a valid config.
func provisioned() *Handler {
	return &Handler{
		IdentitySchema:          "identity.schema.json",
		PublicPrefix:            "/.ory/kratos/public",
		PrivilegedSessionMaxAge: caddy.Duration(15 * time.Minute),
		FlowLifespan:            caddy.Duration(time.Hour),
		SessionLifespan:         caddy.Duration(24 * time.Hour),
	}
}

func TestValidateAccepts(t *testing.T) {
	h := provisioned()
	h.PublicURL = "https://app.example.com/"
	h.UI = &UIConfig{
		Login:        "/login",
		Registration: "https://app.example.com/registration",
		Settings:     "/settings?tab=1",
		Profile:      "http://localhost:4455/profile",
	}
	h.DefaultReturnURL = "/"
	h.UIStylesheet = "https://cdn.example.com/kratos.css?v=2"
	h.AllowedReturnURLs = []string{"https://app.example.com/welcome", "https://*.example.com"}
	h.CookieDomain = "example.com"
	h.Store = &StoreConfig{Type: "redis", Redis: &redisstore.Options{URLs: []string{"rediss://:pw@r:6380/1"}}}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Handler)
		want   string // the option named, then what is expected
		// mention is also in the message (for store errors, whose wording
		// comes from the store's own checks).
		mention string
	}{
		{"prefix without slash", func(h *Handler) { h.PublicPrefix = ".ory/kratos/public" }, `public_prefix: ".ory/kratos/public" must start with "/"`, ""},
		{"prefix trailing slash", func(h *Handler) { h.PublicPrefix = "/.ory/kratos/public/" }, `public_prefix: "/.ory/kratos/public/" must not end with "/"`, ""},
		{"prefix root", func(h *Handler) { h.PublicPrefix = "/" }, "public_prefix:", ""},
		{"public_url relative", func(h *Handler) { h.PublicURL = "app.example.com" }, "public_url:", ""},
		{"public_url scheme", func(h *Handler) { h.PublicURL = "ftp://app.example.com" }, "public_url:", ""},
		{"public_url path", func(h *Handler) { h.PublicURL = "https://app.example.com/app" }, "public_url:", ""},
		{"public_url query", func(h *Handler) { h.PublicURL = "https://app.example.com/?x=1" }, "public_url:", ""},
		{"privileged max age", func(h *Handler) { h.PrivilegedSessionMaxAge = -1 }, "privileged_session_max_age: must be a positive duration", ""},
		{"flow lifespan", func(h *Handler) { h.FlowLifespan = caddy.Duration(-time.Minute) }, "flow_lifespan: must be a positive duration", ""},
		{"session lifespan", func(h *Handler) { h.SessionLifespan = -1 }, "session_lifespan: must be a positive duration", ""},
		{"ui login relative", func(h *Handler) { h.UI = &UIConfig{Login: "login"} }, "ui login:", ""},
		{"ui registration scheme", func(h *Handler) { h.UI = &UIConfig{Registration: "javascript:alert(1)"} }, "ui registration:", ""},
		{"ui settings protocol-relative", func(h *Handler) { h.UI = &UIConfig{Settings: "//evil.example/settings"} }, "ui settings:", ""},
		{"ui profile no host", func(h *Handler) { h.UI = &UIConfig{Profile: "https:///profile"} }, "ui profile:", ""},
		{"ui error", func(h *Handler) { h.UI = &UIConfig{Error: "error.html"} }, "ui error:", ""},
		{"default_return_url", func(h *Handler) { h.DefaultReturnURL = "welcome" }, "default_return_url:", ""},
		{"ui_stylesheet relative", func(h *Handler) { h.UIStylesheet = "style.css" }, "ui_stylesheet:", ""},
		{"ui_stylesheet scheme", func(h *Handler) { h.UIStylesheet = "javascript:alert(1)" }, "ui_stylesheet:", ""},
		{"ui_stylesheet protocol-relative", func(h *Handler) { h.UIStylesheet = "//evil.example/x.css" }, "ui_stylesheet:", ""},
		{"allowed_return_urls path", func(h *Handler) { h.AllowedReturnURLs = []string{"/welcome"} }, "allowed_return_urls:", ""},
		{"cookie_domain url", func(h *Handler) { h.CookieDomain = "https://example.com" }, "cookie_domain:", ""},
		{"store type", func(h *Handler) { h.Store = &StoreConfig{Type: "etcd"} }, `store: unknown type "etcd"`, ""},
		{"verify_address_changes without verification", func(h *Handler) {
			on, off := true, false
			h.VerifyAddressChanges, h.Verification = &on, &off
		}, "verify_address_changes: on, but verification is off", ""},
		{"redis no address", func(h *Handler) { h.Store = &StoreConfig{Type: "redis", Redis: &redisstore.Options{}} }, "store: ", "addrs"},
		{"redis URL scheme", func(h *Handler) {
			h.Store = &StoreConfig{Type: "redis", Redis: &redisstore.Options{URLs: []string{"http://:secret@r:6379"}}}
		}, "store: ", "rediss"},
		{"redis sentinel and cluster", func(h *Handler) {
			h.Store = &StoreConfig{Type: "redis", Redis: &redisstore.Options{Addrs: []string{"r:26379"}, MasterName: "m", Cluster: true}}
		}, "store: ", "master_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := provisioned()
			tc.change(h)
			err := h.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want it to start with %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q, want it to mention %q", err, tc.mention)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}
