package redisstore

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultKeyPrefix is the key prefix when Options.KeyPrefix is empty.
const DefaultKeyPrefix = "kratos"

// Client timeouts and retries. While Redis is unreachable a request fails
// (503) within about a second instead of hanging on retries.
const (
	dialTimeout   = 2 * time.Second
	readTimeout   = 2 * time.Second
	writeTimeout  = 2 * time.Second
	poolTimeout   = 3 * time.Second
	maxRetries    = 1 // a command is sent at most twice
	dialerRetries = 2 // a connection is dialled at most twice per attempt
)

// Options say which Redis to use: one server, a Sentinel-managed primary or a
// cluster. They are part of the Caddy configuration.
type Options struct {
	// URLs are redis://user:pass@host:port/db URLs (rediss:// for TLS).
	// Several URLs are the seeds of a cluster, unless MasterName is set.
	URLs []string `json:"urls,omitempty"`
	// Addrs are host:port addresses, an alternative to URLs: one server,
	// the seeds of a cluster, or the sentinels when MasterName is set.
	Addrs []string `json:"addrs,omitempty"`
	// MasterName is the Sentinel master name; the addresses are sentinels.
	MasterName string `json:"master_name,omitempty"`
	// Cluster forces cluster mode with a single seed address (for example a
	// managed service's configuration endpoint).
	Cluster bool `json:"cluster,omitempty"`
	// Username and Password authenticate to Redis (not to the sentinels).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// DB is the database number; only 0 on a cluster.
	DB int `json:"db,omitempty"`
	// TLS connects with TLS (also implied by rediss:// URLs).
	TLS bool `json:"tls,omitempty"`
	// KeyPrefix is put before every key; default "kratos". It must not
	// contain braces, which would break the keys' hash tags.
	KeyPrefix string `json:"key_prefix,omitempty"`
	// WaitReplicas, when above 0, makes every write wait until that many
	// replicas have acknowledged it (Redis WAIT), for at most WaitTimeout;
	// a write fewer replicas acknowledge in time fails (503), so what was
	// acknowledged survives a failover to one of them. For one server with
	// replicas or a Sentinel group; not for a cluster. See wait.go.
	WaitReplicas int `json:"wait_replicas,omitempty"`
	// WaitTimeout bounds that wait (in JSON, nanoseconds); default
	// DefaultWaitTimeout, at most MaxWaitTimeout.
	WaitTimeout time.Duration `json:"wait_timeout,omitempty"`
}

// Modes of a target.
const (
	modeSingle   = "single"
	modeCluster  = "cluster"
	modeSentinel = "sentinel"
)

// target is the canonical form of valid Options.
type target struct {
	mode       string
	addrs      []string
	masterName string
	username   string
	password   string
	db         int
	tls        bool
	keyPrefix  string
	// waitReplicas and waitTimeout: see Options.WaitReplicas.
	waitReplicas int
	waitTimeout  time.Duration
}

// Validate reports the first problem with the options, naming the field.
func (o Options) Validate() error {
	_, err := o.target()
	return err
}

// Key returns a string that identifies the Redis target and key prefix, so
// that Caddy sites with the same Key can share one Store. The password is
// only in it hashed. Call it on valid options.
func (o Options) Key() string {
	t, err := o.target()
	if err != nil {
		return "invalid: " + err.Error()
	}
	addrs := slices.Clone(t.addrs)
	if t.mode != modeSingle {
		slices.Sort(addrs) // seeds and sentinels are a set
	}
	key := fmt.Sprintf("redis mode=%s addrs=%s master=%q user=%q password=%s db=%d tls=%t prefix=%q",
		t.mode, strings.Join(addrs, ","), t.masterName, t.username, hashPassword(t.password), t.db, t.tls, t.keyPrefix)
	if t.waitReplicas > 0 {
		key += fmt.Sprintf(" wait=%d/%s", t.waitReplicas, t.waitTimeout)
	}
	return key
}

// Endpoints are the host:port addresses the options point at (servers,
// cluster seeds or sentinels), without credentials: for log lines.
func (o Options) Endpoints() []string {
	t, err := o.target()
	if err != nil {
		return nil
	}
	return slices.Clone(t.addrs)
}

// hashPassword returns a digest of the password for Key ("" stays "").
func hashPassword(p string) string {
	if p == "" {
		return `""`
	}
	sum := sha256.Sum256([]byte("caddy-kratos redisstore password\x00" + p))
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// target checks the options and puts them in canonical form.
func (o Options) target() (target, error) {
	t := target{
		masterName: o.MasterName,
		username:   o.Username,
		password:   o.Password,
		db:         o.DB,
		tls:        o.TLS,
		keyPrefix:  o.KeyPrefix,
	}
	if t.keyPrefix == "" {
		t.keyPrefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(t.keyPrefix, "{} \t\r\n") {
		return target{}, fmt.Errorf("redis: key_prefix %q must not contain braces or white space", t.keyPrefix)
	}
	if t.db < 0 {
		return target{}, fmt.Errorf("redis: db %d is negative", t.db)
	}

	switch {
	case len(o.URLs) > 0 && len(o.Addrs) > 0:
		return target{}, errors.New("redis: set urls or addrs, not both")
	case len(o.URLs) > 0:
		if err := t.addURLs(o.URLs); err != nil {
			return target{}, err
		}
	case len(o.Addrs) > 0:
		for i, a := range o.Addrs {
			if err := checkAddr(a); err != nil {
				return target{}, fmt.Errorf("redis: addrs[%d]: %w", i, err)
			}
		}
		t.addrs = slices.Clone(o.Addrs)
	default:
		return target{}, errors.New("redis: no urls or addrs")
	}

	switch {
	case o.MasterName != "" && o.Cluster:
		return target{}, errors.New("redis: master_name (Sentinel) and cluster exclude each other")
	case o.MasterName != "":
		t.mode = modeSentinel
	case o.Cluster || len(t.addrs) > 1:
		t.mode = modeCluster
		if t.db != 0 {
			return target{}, fmt.Errorf("redis: db %d: a cluster has only db 0", t.db)
		}
	default:
		t.mode = modeSingle
	}
	if err := t.setWait(o.WaitReplicas, o.WaitTimeout); err != nil {
		return target{}, err
	}
	return t, nil
}

// addURLs parses the URLs into t. Every URL must name the same
// credentials, database and scheme; each may repeat what the options say.
func (t *target) addURLs(urls []string) error {
	scheme := ""
	dbSet := t.db != 0
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the full error repeats the URL, password included
			}
			return fmt.Errorf("redis: urls[%d] is not a URL: %w", i, err)
		}
		field := fmt.Sprintf("redis: urls[%d] (%s)", i, u.Redacted())
		switch u.Scheme {
		case "redis":
		case "rediss":
			t.tls = true
		default:
			return fmt.Errorf("%s: scheme %q is not redis or rediss", field, u.Scheme)
		}
		if scheme != "" && u.Scheme != scheme {
			return fmt.Errorf("%s: all urls must use the same scheme", field)
		}
		scheme = u.Scheme
		if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return fmt.Errorf("%s: query, fragment and opaque parts are not supported; use the options", field)
		}
		host, port := u.Hostname(), u.Port()
		if host == "" {
			return fmt.Errorf("%s: no host", field)
		}
		if port == "" {
			port = "6379"
		}
		addr := net.JoinHostPort(host, port)
		if err := checkAddr(addr); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		t.addrs = append(t.addrs, addr)

		if u.User != nil {
			pass, _ := u.User.Password()
			if err := agree(&t.username, u.User.Username(), field+": user name"); err != nil {
				return err
			}
			if err := agree(&t.password, pass, field+": password"); err != nil {
				return err
			}
		}
		db, named, err := urlDB(u.Path)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		if named {
			if dbSet && db != t.db {
				return fmt.Errorf("%s: database %d differs from %d set before", field, db, t.db)
			}
			t.db, dbSet = db, true
		}
	}
	return nil
}

// agree sets *have to v if it is empty, and fails if both are set and differ.
func agree(have *string, v, what string) error {
	switch {
	case v == "":
	case *have == "":
		*have = v
	case *have != v:
		return fmt.Errorf("%s differs from the one set before", what)
	}
	return nil
}

// urlDB returns the database number of a URL path ("", "/" or "/N") and
// whether the path names one.
func urlDB(path string) (db int, named bool, err error) {
	p := strings.TrimPrefix(path, "/")
	if p == "" {
		return 0, false, nil
	}
	db, err = strconv.Atoi(p)
	if err != nil || db < 0 {
		return 0, false, fmt.Errorf("path %q is not a database number", path)
	}
	return db, true, nil
}

// checkAddr checks a host:port address.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port is not a number from 1 to 65535", addr)
	}
	return nil
}

// universalOptions returns the go-redis options for t.
func (t target) universalOptions() *redis.UniversalOptions {
	o := &redis.UniversalOptions{
		Addrs:                 t.addrs,
		MasterName:            t.masterName,
		IsClusterMode:         t.mode == modeCluster,
		Username:              t.username,
		Password:              t.password,
		DB:                    t.db,
		DialTimeout:           dialTimeout,
		ReadTimeout:           readTimeout,
		WriteTimeout:          writeTimeout,
		PoolTimeout:           poolTimeout,
		MaxRetries:            maxRetries,
		DialerRetries:         dialerRetries,
		ContextTimeoutEnabled: true,
	}
	if t.tls {
		// The server name is taken from each address when dialling.
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o
}
