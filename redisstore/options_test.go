package redisstore

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
)

func TestOptions(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want target // keyPrefix defaults to "kratos" when empty here
		err  string // a part of the error, when one is wanted
	}{
		{
			name: "url with everything",
			opts: Options{URLs: []string{"redis://user:pass@host:6379/2"}},
			want: target{mode: modeSingle, addrs: []string{"host:6379"}, username: "user", password: "pass", db: 2},
		},
		{
			name: "url with defaults",
			opts: Options{URLs: []string{"redis://localhost"}},
			want: target{mode: modeSingle, addrs: []string{"localhost:6379"}},
		},
		{
			name: "rediss sets tls",
			opts: Options{URLs: []string{"rediss://:secret@redis.example.com:6380"}, KeyPrefix: "site"},
			want: target{mode: modeSingle, addrs: []string{"redis.example.com:6380"}, password: "secret", tls: true, keyPrefix: "site"},
		},
		{
			name: "several urls are a cluster",
			opts: Options{URLs: []string{"redis://a:7000", "redis://b:7001", "redis://c:7002"}, Password: "p"},
			want: target{mode: modeCluster, addrs: []string{"a:7000", "b:7001", "c:7002"}, password: "p"},
		},
		{
			name: "several addrs are a cluster",
			opts: Options{Addrs: []string{"a:7000", "b:7001"}},
			want: target{mode: modeCluster, addrs: []string{"a:7000", "b:7001"}},
		},
		{
			name: "cluster forced with one seed",
			opts: Options{Addrs: []string{"cfg.example.com:6379"}, Cluster: true, TLS: true},
			want: target{mode: modeCluster, addrs: []string{"cfg.example.com:6379"}, tls: true},
		},
		{
			name: "master name is sentinel",
			opts: Options{URLs: []string{"redis://s1:26379", "redis://s2:26379"}, MasterName: "mymaster", DB: 3},
			want: target{mode: modeSentinel, addrs: []string{"s1:26379", "s2:26379"}, masterName: "mymaster", db: 3},
		},
		{
			name: "ipv6 address",
			opts: Options{URLs: []string{"redis://[::1]:6379/0"}},
			want: target{mode: modeSingle, addrs: []string{"[::1]:6379"}},
		},
		{name: "bad scheme", opts: Options{URLs: []string{"http://host:6379"}}, err: `urls[0] (http://host:6379): scheme "http" is not redis or rediss`},
		{name: "no scheme", opts: Options{URLs: []string{"host:6379"}}, err: "is not redis or rediss"},
		{name: "bad db", opts: Options{URLs: []string{"redis://host/x"}}, err: `path "/x" is not a database number`},
		{name: "query", opts: Options{URLs: []string{"redis://host?dial_timeout=1s"}}, err: "query"},
		{name: "no host", opts: Options{URLs: []string{"redis:///2"}}, err: "no host"},
		{name: "mixed schemes", opts: Options{URLs: []string{"redis://a:1", "rediss://b:2"}}, err: "same scheme"},
		{name: "differing passwords", opts: Options{URLs: []string{"redis://:one@a:1", "redis://:two@b:2"}}, err: "password differs"},
		{name: "differing dbs", opts: Options{URLs: []string{"redis://a:1/2"}, DB: 3}, err: "database 2 differs"},
		{name: "differing dbs in urls", opts: Options{URLs: []string{"redis://s1:1/0", "redis://s2:2/2"}, MasterName: "m"}, err: "database 2 differs from 0"},
		{name: "urls and addrs", opts: Options{URLs: []string{"redis://a"}, Addrs: []string{"b:1"}}, err: "urls or addrs, not both"},
		{name: "nothing", opts: Options{}, err: "no urls or addrs"},
		{name: "bad addr", opts: Options{Addrs: []string{"a:1", "nohost"}}, err: `addrs[1]: "nohost" is not host:port`},
		{name: "bad port", opts: Options{Addrs: []string{"a:99999"}}, err: "port is not a number"},
		{name: "db on a cluster", opts: Options{Addrs: []string{"a:1", "b:2"}, DB: 1}, err: "a cluster has only db 0"},
		{name: "sentinel and cluster", opts: Options{Addrs: []string{"a:1"}, MasterName: "m", Cluster: true}, err: "exclude each other"},
		{name: "negative db", opts: Options{Addrs: []string{"a:1"}, DB: -1}, err: "db -1 is negative"},
		{name: "braces in prefix", opts: Options{Addrs: []string{"a:1"}, KeyPrefix: "a{b}"}, err: "key_prefix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.target()
			if verr := tc.opts.Validate(); (verr == nil) != (err == nil) {
				t.Errorf("Validate() = %v, target() error %v", verr, err)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "one@") || strings.Contains(err.Error(), "pass@") {
					t.Errorf("the error shows a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.want.keyPrefix == "" {
				tc.want.keyPrefix = DefaultKeyPrefix
			}
			if got.mode != tc.want.mode || !slices.Equal(got.addrs, tc.want.addrs) || got.masterName != tc.want.masterName ||
				got.username != tc.want.username || got.password != tc.want.password || got.db != tc.want.db ||
				got.tls != tc.want.tls || got.keyPrefix != tc.want.keyPrefix {
				t.Errorf("target = %+v\nwant %+v", got, tc.want)
			}

			u := got.universalOptions()
			if !u.ContextTimeoutEnabled || u.DialTimeout == 0 || u.ReadTimeout == 0 {
				t.Errorf("timeouts not set: %+v", u)
			}
			if (u.TLSConfig != nil) != tc.want.tls || u.IsClusterMode != (tc.want.mode == modeCluster) || u.MasterName != tc.want.masterName {
				t.Errorf("go-redis options do not match the target: %+v", u)
			}
		})
	}
}

func TestOptionsKey(t *testing.T) {
	base := Options{URLs: []string{"redis://user:hunter2@host:6379/1"}}
	key := base.Key()
	if strings.Contains(key, "hunter2") {
		t.Errorf("Key shows the password: %s", key)
	}
	same := []Options{
		{Addrs: []string{"host:6379"}, Username: "user", Password: "hunter2", DB: 1},
		{URLs: []string{"redis://user:hunter2@host/1"}, KeyPrefix: DefaultKeyPrefix},
	}
	for _, o := range same {
		if o.Key() != key {
			t.Errorf("Key(%+v) = %s, want %s", o, o.Key(), key)
		}
	}
	different := []Options{
		{URLs: []string{"redis://user:hunter3@host:6379/1"}},
		{URLs: []string{"redis://user:hunter2@host:6379/2"}},
		{URLs: []string{"redis://other:hunter2@host:6379/1"}},
		{URLs: []string{"rediss://user:hunter2@host:6379/1"}},
		{URLs: []string{"redis://user:hunter2@host:6380/1"}},
		{URLs: []string{"redis://user:hunter2@host:6379/1"}, KeyPrefix: "other"},
		{URLs: []string{"redis://user:hunter2@host:6379/1"}, MasterName: "m"},
	}
	for _, o := range different {
		if o.Key() == key {
			t.Errorf("Key(%+v) equals the base key", o)
		}
	}
	a := Options{Addrs: []string{"a:1", "b:2"}}.Key()
	b := Options{Addrs: []string{"b:2", "a:1"}}.Key()
	if a != b {
		t.Errorf("cluster seeds in another order give another key: %s, %s", a, b)
	}
}

// quietLogger drops go-redis' log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// TestNewDoesNotConnect checks that New never dials, and that an unreachable
// Redis gives an error that is not ErrNotFound.
func TestNewDoesNotConnect(t *testing.T) {
	redis.SetLogger(quietLogger{}) // the failing dials would be logged
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	// A listener that hangs up on every connection: unreachable, and the
	// port stays ours (a closed port could be taken by another test's
	// redis-server meanwhile).
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()

	for name, opts := range map[string]Options{
		"server":  {Addrs: []string{addr}, Password: "s3cret-pass"},
		"cluster": {Addrs: []string{addr, addr}, Password: "s3cret-pass"},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			s, err := New(opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer s.Close()
			if d := time.Since(start); d > time.Second {
				t.Errorf("New took %s", d)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err = s.GetIdentity(ctx, identity.NewID())
			switch {
			case err == nil || errors.Is(err, identity.ErrNotFound):
				t.Fatalf("GetIdentity on an unreachable Redis = %v, want a connection error", err)
			case errors.Is(err, redis.Nil):
				t.Errorf("a go-redis error leaks: %v", err)
			case strings.Contains(err.Error(), "s3cret"):
				t.Errorf("the error shows the password: %v", err)
			}
			if err := s.Ping(ctx); err == nil {
				t.Error("Ping on an unreachable Redis succeeded")
			}
		})
	}
}
