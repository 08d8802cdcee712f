package siteurl

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
)

// fuzzAllowed are the allowed return URLs of every fuzzed site: a path, a
// subtree, a host with a port, a host with capitals and a root.
var fuzzAllowed = []string{
	"https://partner.example.org/cb",
	"https://partner.example.org/dir/",
	"https://ports.example.org:8443/",
	"https://Backend.Example.org/app",
	"http://localhost:3000",
}

// fuzzSite returns a site and a request to check return_to values with.
// mode picks how the site knows its origin: 0 a configured public URL, 1 the
// request's Host, 2 the X-Forwarded-Host (fwdHost) and -Proto of a trusted
// proxy.
func fuzzSite(mode uint8, fwdHost string) (*Site, *http.Request) {
	s := &Site{PublicPrefix: "/.ory/kratos/public", AllowedReturnURLs: fuzzAllowed}
	r := httptest.NewRequest(http.MethodGet, "http://app.example.com/.ory/kratos/public/self-service/login/browser", nil)
	switch mode % 3 {
	case 0:
		s.Origin = &url.URL{Scheme: "https", Host: "site.example.com"}
	case 2:
		s.FromTrustedProxy = func(*http.Request) bool { return true }
		r.Header.Set("X-Forwarded-Host", fwdHost)
		r.Header.Set("X-Forwarded-Proto", "https")
	}
	return s, r
}

// FuzzCheckReturnTo checks that whatever CheckReturnTo accepts is an
// absolute http(s) URL, on the site's origin or under an allowed return
// URL (same scheme, host and port, path below the allowed one by segment),
// with a clean path, no user info, backslash or control character; that a
// refusal is the 400 self_service_flow_return_to_forbidden; and that the
// result is accepted again unchanged.
func FuzzCheckReturnTo(f *testing.F) {
	for _, raw := range []string{
		"", "/", "/account", "/account?x=1#y", "/account/", "/a/b/../c", "/a/../..//evil.com",
		"/a/%2e%2e//evil.com", "/files/a%2Fb", "/%", "/%zz", "/a%00b", "/x?next=%2F%2Fevil.com", "/x#//evil.com",
		"http://app.example.com", "http://app.example.com/x", "http://APP.example.com/x?y=1",
		"https://site.example.com/x", "https://SITE.example.com", "https://site.example.com:443/x",
		"https://partner.example.org/cb", "https://partner.example.org/cb?state=1#f", "https://partner.example.org/cb/sub",
		"https://partner.example.org/cb/", "https://partner.example.org/cb/sub/../x", "https://partner.example.org/dir/x/y",
		"https://partner.example.org/dir/", "https://ports.example.org:8443/anything", "https://bac\u212aend.example.org/app",
		"https://backend.example.org/app/../app", "http://localhost:3000/", "http://localhost:3000", "http://LOCALHOST:3000/x",
		"///evil.com", "////evil.com", "///evil.com/login?x=1", "/\\evil.com", "\\/evil.com", "\\\\evil.com",
		"/account?next=\\evil", "/%2f%2fevil.com", "/%2F/evil.com", "/%5Cevil.com", "/\t/evil.com", "/\n/evil.com",
		"/\r/evil.com", "\t//evil.com", " //evil.com", "/%09/evil.com", "/\x00/evil.com", "/\x7f/evil.com", "//evil.com",
		"//app.example.com/x", "account", "./account", "https:evil.com", "https:/evil.com", "http:///evil.com",
		"javascript:alert(1)", "data:text/html,hi", "https://evil.com/", "http://app.example.com.evil.com/",
		"http://app.example.com@evil.com/", "http://user@app.example.com/x", "http://app.example.com:8080/x",
		"http://app.example.com///evil.com", "http://app.example.com/%2f%2fevil.com", "http://app.example.com/%5Cevil.com",
		"https://partner.example.org/cbevil", "https://partner.example.org/cb/../../x", "https://partner.example.org/cb/..",
		"https://partner.example.org/cb/%2e%2e/x", "https://partner.example.org/cb%2f..%2fx", "https://partner.example.org/",
		"https://partner.example.org", "http://partner.example.org/cb", "https://partner.example.org:443/cb",
		"https://partner.example.org.evil.com/cb", "https://evil.com/cb", "https://partner.example.org/dir",
		"https://partner.example.org/direvil", "https://ports.example.org/x", "https://ports.example.org:9443/x",
		"ftp://partner.example.org/cb", "http://[::1]/x", "http://app.example.com:/x", "https://pärtner.example.org/cb",
		"https://partner.example.org/cb;x", "https://partner.example.org/cb/%2F%2Fevil.com", "HTTPS://partner.example.org/cb",
		"https://partner.example.org/cb?", "https://partner.example.org/cb#", "/?", "/#", "http://app.example.com?x",
		"http://app.example.com#x", "/.", "/..", "/./x", "/x/.", "/x/..", "/%2e", "/%2e%2e/%2e%2e/x",
	} {
		f.Add(raw, "", uint8(0))
		f.Add(raw, "", uint8(1))
	}
	for _, host := range []string{"proxy.example.com", "PROXY.example.com:8443", "evil.com@proxy", "a.com/x", "[::1]:9", "a b", "a.com:80:80", ""} {
		f.Add("/account", host, uint8(2))
		f.Add("https://"+host+"/x", host, uint8(2))
	}

	f.Fuzz(func(t *testing.T, raw, fwdHost string, mode uint8) {
		s, r := fuzzSite(mode, fwdHost)
		base := s.Base(r)
		got, err := s.CheckReturnTo(r, raw)
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != http.StatusBadRequest || e.ID != "self_service_flow_return_to_forbidden" {
				t.Fatalf("CheckReturnTo(%q) error %#v; want 400 self_service_flow_return_to_forbidden", raw, err)
			}
			if got != "" {
				t.Fatalf("CheckReturnTo(%q) refused but returned %q", raw, got)
			}
			return
		}
		if raw == "" {
			if got != "" {
				t.Fatalf(`CheckReturnTo("") = %q`, got)
			}
			return
		}
		checkReturnURL(t, raw, got, base)

		again, err := s.CheckReturnTo(r, got)
		if err != nil || again != got {
			t.Fatalf("CheckReturnTo(%q) = %q; checked again: %q, %v", raw, got, again, err)
		}
	})
}

// checkReturnURL fails unless got, what CheckReturnTo accepted for raw, is
// safe to send a browser to: see FuzzCheckReturnTo.
func checkReturnURL(t *testing.T, raw, got string, base *url.URL) {
	t.Helper()
	if strings.ContainsAny(got, "\\") || strings.ContainsFunc(got, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		t.Fatalf("CheckReturnTo(%q) = %q: a backslash or control character", raw, got)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatalf("CheckReturnTo(%q) = %q: does not parse: %v", raw, got, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		t.Fatalf("CheckReturnTo(%q) = %q: not an absolute http(s) URL without user info", raw, got)
	}
	// The text itself, as a browser reads it: scheme://host, then the path,
	// query or fragment.
	prefix := u.Scheme + "://" + u.Host
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("CheckReturnTo(%q) = %q: does not start with %q", raw, got, prefix)
	}
	if rest := got[len(prefix):]; rest != "" && !strings.ContainsRune("/?#", rune(rest[0])) {
		t.Fatalf("CheckReturnTo(%q) = %q: the host is followed by %q", raw, got, rest)
	}
	if u.Path != "" {
		if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.HasPrefix(u.EscapedPath(), "//") {
			t.Fatalf("CheckReturnTo(%q) = %q: the path %q does not start with a single slash", raw, got, u.Path)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("CheckReturnTo(%q) = %q: the path %q has a dot segment", raw, got, u.Path)
			}
		}
	}
	if u.Scheme == base.Scheme && u.Host == base.Host {
		return
	}
	for _, allowed := range fuzzAllowed {
		a, _ := url.Parse(allowed)
		if u.Scheme == a.Scheme && u.Host == a.Host && belowBySegment(u.Path, a.Path) {
			return
		}
	}
	t.Fatalf("CheckReturnTo(%q) = %q: neither on the site's origin %s nor under an allowed return URL", raw, got, base)
}

// belowBySegment reports whether the URL path p is the allowed path or below
// it, segment by segment: "/cb" allows "/cb" and "/cb/x", "/cb/" only
// "/cb/..." and "" or "/" anything.
func belowBySegment(p, allowed string) bool {
	if allowed == "" || allowed == "/" {
		return true
	}
	if p == allowed {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(allowed, "/")+"/")
}
