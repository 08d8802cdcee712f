package flows

import (
	"net/http"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/testenv"
)

// Behind a TLS-terminating proxy that Caddy trusts, the site's scheme and
// host come from X-Forwarded-Proto and X-Forwarded-Host; from anyone else
// those headers change nothing.
func TestBaseFromTrustedProxy(t *testing.T) {
	trusted := false
	e := newFlowEnv(t, func(c *Config) { c.FromTrustedProxy = func(*http.Request) bool { return trusted } })
	for _, c := range []struct {
		trusted bool
		header  []string
		want    string
	}{
		{false, nil, "http://10.0.0.7:8080"},
		{false, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com"}, "http://10.0.0.7:8080"},
		{true, nil, "http://10.0.0.7:8080"},
		{true, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com"}, "https://app.example.com"},
		{true, []string{"X-Forwarded-Proto", "HTTPS, http"}, "https://10.0.0.7:8080"},
		{true, []string{"X-Forwarded-Proto", "javascript"}, "http://10.0.0.7:8080"},
		{true, []string{"X-Forwarded-Host", "app.example.com:8443, proxy.internal"}, "http://app.example.com:8443"},
		{true, []string{"X-Forwarded-Host", "evil.com/path"}, "http://10.0.0.7:8080"},
		{true, []string{"X-Forwarded-Host", "user@evil.com"}, "http://10.0.0.7:8080"},
		{true, []string{"X-Forwarded-Host", "evil.com#x"}, "http://10.0.0.7:8080"},
	} {
		trusted = c.trusted
		if got := e.s.site.Base(testenv.Request(http.MethodGet, "http://10.0.0.7:8080/x", "", c.header...)).String(); got != c.want {
			t.Errorf("trusted %v, %q: base %q, want %q", c.trusted, c.header, got, c.want)
		}
	}

	// The cookies follow: Secure once the trusted proxy says https.
	trusted = true
	b := e.newClient(callerBrowser)
	b.site = "http://10.0.0.7:8080"
	w := b.get(DefaultPublicPrefix+"/self-service/login/browser", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com")
	if loc := w.Location(); !strings.HasPrefix(loc, "https://app.example.com/") {
		t.Errorf("login init behind the proxy: Location %q", loc)
	}
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("login init set no cookie")
	}
	for _, c := range cookies {
		if !c.Secure {
			t.Errorf("cookie %s without Secure behind an https proxy", c.Name)
		}
	}
}
