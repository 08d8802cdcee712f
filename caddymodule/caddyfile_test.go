package caddymodule

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/seed06f30684/caddy-kratos/redisstore"
)

func TestUnmarshalCaddyfileEveryOption(t *testing.T) {
	d := caddyfile.NewTestDispenser(`kratos {
		identity_schema            /etc/kratos/identity.schema.json
		public_prefix              /auth
		public_url                 https://app.example.com
		store                      redis {
			addrs       r1:26379 r2:26379
			master_name mymaster
			username    app
			password    {env.REDIS_PASSWORD}
			db          2
			tls
			key_prefix  kratos
		}
		ui {
			login        /login
			registration /registration
			settings     /settings
			profile      /profile
			error        /error
			languages    de en
			translations /etc/caddy/translations
		}
		ui_stylesheet              /assets/kratos.css
		default_return_url         /welcome
		allowed_return_urls        https://a.example.com
		allowed_return_urls        https://b.example.com https://c.example.com
		privileged_session_max_age 5m
		flow_lifespan              2h
		session_lifespan           7d
		cookie_domain              example.com
		identity_headers
		admin
		require_session
		revoke_sessions_on_password_change off
		verify_address_changes     off
		rate_limit {
			login_failures 10 1h
			requests       120 1m
		}
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	off := false
	want := Handler{
		IdentitySchema: "/etc/kratos/identity.schema.json",
		PublicPrefix:   "/auth",
		PublicURL:      "https://app.example.com",
		Store: &StoreConfig{Type: "redis", Redis: &redisstore.Options{
			Addrs: []string{"r1:26379", "r2:26379"}, MasterName: "mymaster", Username: "app",
			Password: "{env.REDIS_PASSWORD}", DB: 2, TLS: true, KeyPrefix: "kratos",
		}},
		UI: &UIConfig{Login: "/login", Registration: "/registration", Settings: "/settings", Profile: "/profile", Error: "/error",
			Languages: []string{"de", "en"}, Translations: "/etc/caddy/translations"},
		UIStylesheet:                   "/assets/kratos.css",
		DefaultReturnURL:               "/welcome",
		AllowedReturnURLs:              []string{"https://a.example.com", "https://b.example.com", "https://c.example.com"},
		PrivilegedSessionMaxAge:        caddy.Duration(5 * time.Minute),
		FlowLifespan:                   caddy.Duration(2 * time.Hour),
		SessionLifespan:                caddy.Duration(7 * 24 * time.Hour),
		CookieDomain:                   "example.com",
		IdentityHeaders:                true,
		Admin:                          true,
		RequireSession:                 true,
		RevokeSessionsOnPasswordChange: &off,
		VerifyAddressChanges:           &off,
		RateLimit: &RateLimitConfig{
			LoginFailures: &LimitConfig{Events: 10, Per: caddy.Duration(time.Hour)},
			Requests:      &LimitConfig{Events: 120, Per: caddy.Duration(time.Minute)},
		},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}
}

func TestUnmarshalCaddyfileStoreForms(t *testing.T) {
	for input, want := range map[string]*StoreConfig{
		"store memory":                                                          {Type: "memory"},
		"store redis redis://r:6379":                                            {Type: "redis", Redis: &redisstore.Options{URLs: []string{"redis://r:6379"}}},
		"store redis redis://a:1 redis://b:1":                                   {Type: "redis", Redis: &redisstore.Options{URLs: []string{"redis://a:1", "redis://b:1"}}},
		"store redis redis://r {\n key_prefix p\n }":                            {Type: "redis", Redis: &redisstore.Options{URLs: []string{"redis://r"}, KeyPrefix: "p"}},
		"store redis {\n urls rediss://r\n cluster\n }":                         {Type: "redis", Redis: &redisstore.Options{URLs: []string{"rediss://r"}, Cluster: true}},
		"store redis {\n addrs a:1 b:1 c:1\n cluster\n }":                       {Type: "redis", Redis: &redisstore.Options{Addrs: []string{"a:1", "b:1", "c:1"}, Cluster: true}},
		"store redis {\n addrs s:1\n master_name m\n wait_replicas 2\n }":       {Type: "redis", Redis: &redisstore.Options{Addrs: []string{"s:1"}, MasterName: "m", WaitReplicas: 2}},
		"store redis {\n addrs s:1\n master_name m\n wait_replicas 1 250ms\n }": {Type: "redis", Redis: &redisstore.Options{Addrs: []string{"s:1"}, MasterName: "m", WaitReplicas: 1, WaitTimeout: 250 * time.Millisecond}},
	} {
		var h Handler
		d := caddyfile.NewTestDispenser("kratos {\nidentity_schema s.json\n" + input + "\n}")
		if err := h.UnmarshalCaddyfile(d); err != nil {
			t.Errorf("%q: %v", input, err)
			continue
		}
		if !reflect.DeepEqual(h.Store, want) {
			t.Errorf("%q: store %+v, want %+v", input, h.Store, want)
		}
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{"kratos", "identity_schema is required"},
		{"kratos s.json", "kratos takes no arguments"},
		{"kratos {\nidentity_schema\n}", "wrong argument count"},
		{"kratos {\nidentity_schema a b\n}", "wrong argument count"},
		{"kratos {\nidentity_schema s\nfoo bar\n}", "unrecognized kratos option 'foo'"},
		{"kratos {\nidentity_schema s\nflow_lifespan 1h\nflow_lifespan 2h\n}", "'flow_lifespan' given twice"},
		{"kratos {\nidentity_schema s\nsession_lifespan soon\n}", "session_lifespan: bad duration 'soon'"},
		{"kratos {\nidentity_schema s\nflow_lifespan -5m\n}", "flow_lifespan: expected a positive duration"},
		{"kratos {\nidentity_schema s\nflow_lifespan\n}", "wrong argument count"},
		{"kratos {\nidentity_schema s\nstore\n}", "store: expected 'memory' or 'redis'"},
		{"kratos {\nidentity_schema s\nstore etcd\n}", "store: unknown type 'etcd'"},
		{"kratos {\nidentity_schema s\nstore memory redis://r\n}", "wrong argument count"},
		{"kratos {\nidentity_schema s\nstore redis\n}", "store redis: expected at least one"},
		{"kratos {\nidentity_schema s\nstore redis {\nsentinel x\n}\n}", "unrecognized store redis option 'sentinel'"},
		{"kratos {\nidentity_schema s\nstore redis {\ndb one\n}\n}", "db: expected a database number"},
		{"kratos {\nidentity_schema s\nstore redis {\ntls\ntls\n}\n}", "'tls' given twice"},
		{"kratos {\nidentity_schema s\nstore redis {\nwait_replicas\n}\n}", "wait_replicas: expected a number of replicas and optionally a timeout"},
		{"kratos {\nidentity_schema s\nstore redis {\nwait_replicas one\n}\n}", "wait_replicas: expected a number of replicas (1 or more), got 'one'"},
		{"kratos {\nidentity_schema s\nstore redis {\nwait_replicas 1 soon\n}\n}", "wait_replicas: expected a timeout such as 100ms, got 'soon'"},
		{"kratos {\nidentity_schema s\nstore redis redis://a {\nurls redis://b\n}\n}", "not both"},
		{"kratos {\nidentity_schema s\nui {\nhome /\n}\n}", "unrecognized ui option 'home'"},
		{"kratos {\nidentity_schema s\nui /login\n}", "ui: expected a block"},
		{"kratos {\nidentity_schema s\nui {\nlogin /a\nlogin /b\n}\n}", "ui: 'login' given twice"},
		{"kratos {\nidentity_schema s\nadmin yes\n}", "wrong argument count"},
		{"kratos {\nidentity_schema s\nrevoke_sessions_on_password_change\n}", "wrong argument count"},
		{"kratos {\nidentity_schema s\nrevoke_sessions_on_password_change maybe\n}", "expected 'on' or 'off'"},
		{"kratos {\nidentity_schema s\nallowed_return_urls\n}", "wrong argument count"},
		{"kratos {\nidentity_schema s\nrate_limit on\n}", "rate_limit: expected 'off' or a block"},
		{"kratos {\nidentity_schema s\nrate_limit {\nlogin_failures 5\n}\n}", "expected <events> <duration>"},
		{"kratos {\nidentity_schema s\nrate_limit {\nlogin_failures none 1m\n}\n}", "positive number of events"},
		{"kratos {\nidentity_schema s\nrate_limit {\nrequests 5 soon\n}\n}", "bad duration 'soon'"},
		{"kratos {\nidentity_schema s\nrate_limit {\nlogins 5 1m\n}\n}", "unrecognized option 'logins'"},
		{"kratos {\nidentity_schema s\nui_stylesheet\n}", "wrong argument count"},
		{"kratos {\nidentity_schema s\nui_stylesheet /a.css /b.css\n}", "wrong argument count"},
		{"kratos {\nidentity_schema s\nui_stylesheet /a.css\nui_stylesheet /b.css\n}", "'ui_stylesheet' given twice"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.input, err, tc.want)
		}
	}
}
