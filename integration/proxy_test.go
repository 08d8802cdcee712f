package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// Behind a TLS-terminating proxy listed in Caddy's trusted_proxies, the
// flows take the site's scheme and host from X-Forwarded-Proto and
// X-Forwarded-Host: https URLs and Secure cookies, with no public_url. A
// site that trusts no proxy ignores those headers.
func TestTrustedProxyHeaders(t *testing.T) {
	trusting, plain := startTrustingSites(t, "")

	forwarded := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com", "X-Forwarded-For", "203.0.113.9"}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	loginInit := "/.ory/kratos/public/self-service/login/browser"

	res := do(t, c, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", trusting, loginInit), nil, forwarded...)
	wantStatus(t, res, 303)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "https://app.example.com/.ory/kratos/public/") {
		t.Errorf("behind the trusted proxy: Location %q, want https://app.example.com/...", loc)
	}
	if len(res.Cookies()) == 0 {
		t.Fatal("no CSRF cookie")
	}
	for _, ck := range res.Cookies() {
		if !ck.Secure || !ck.HttpOnly {
			t.Errorf("behind the trusted proxy: cookie %s Secure %v HttpOnly %v", ck.Name, ck.Secure, ck.HttpOnly)
		}
	}

	res = do(t, c, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", plain, loginInit), nil, forwarded...)
	wantStatus(t, res, 303)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, fmt.Sprintf("http://127.0.0.1:%d/", plain)) {
		t.Errorf("no trusted proxy: Location %q, want the request's own origin", loc)
	}
	for _, ck := range res.Cookies() {
		if ck.Secure {
			t.Errorf("no trusted proxy: cookie %s is Secure on plain http", ck.Name)
		}
	}
}

// startTrustingSites starts a real Caddy with two kratos sites on the
// memory store (kratosExtra added to each kratos block): one on a server
// that trusts 127.0.0.1 as a proxy (trusted_proxies), one on a server that
// trusts none. It returns their ports.
func startTrustingSites(t *testing.T, kratosExtra string) (trusting, plain int) {
	t.Helper()
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "identity.schema.json")
	if err := os.WriteFile(schemaPath, []byte(seedSchema), 0o600); err != nil {
		t.Fatal(err)
	}
	trusting, plain = freePort(t), freePort(t)
	cfg := fmt.Sprintf(`{
	admin off
	auto_https off
	grace_period 1ns
	servers 127.0.0.1:%[1]d {
		trusted_proxies static 127.0.0.1/32
	}
}
http://:%[1]d {
	bind 127.0.0.1
	kratos {
		identity_schema %[2]s
		%[4]s
	}
}
http://:%[3]d {
	bind 127.0.0.1
	kratos {
		identity_schema %[2]s
		%[4]s
	}
}
`, trusting, schemaPath, plain, kratosExtra)
	conf, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		t.Fatalf("adapt: %v\n%s", err, cfg)
	}
	if err := caddy.Load(conf, true); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return trusting, plain
}
