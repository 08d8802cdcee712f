package flows

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
)

// wantSafeLocation fails unless to is an absolute http(s) URL: never a value
// a browser reads as relative to another host ("//…", "/\…").
func wantSafeLocation(t *testing.T, what, to string) {
	t.Helper()
	if strings.HasPrefix(to, "//") || strings.HasPrefix(to, "/\\") || strings.HasPrefix(to, "\\") ||
		!(strings.HasPrefix(to, "http://") || strings.HasPrefix(to, "https://")) {
		t.Errorf("%s: %q is not an absolute http(s) URL", what, to)
	}
	if strings.ContainsAny(to, "\\\t\r\n") {
		t.Errorf("%s: %q holds a backslash or a character browsers drop", what, to)
	}
}

func TestCheckReturnTo(t *testing.T) {
	s := newFlowEnv(t, func(c *Config) {
		c.AllowedReturnURLs = []string{
			"https://partner.example.org/cb",
			"https://partner.example.org/dir/",
			"https://ports.example.org:8443/",
			"https://backend.example.org/app",
		}
	}).s
	const site = "http://app.example.com"
	for _, tc := range []struct {
		name, raw string
		want      string // "" with ok: the empty value
		ok        bool
	}{
		// Allowed: paths and URLs on the site.
		{"empty", "", "", true},
		{"site path", "/account", site + "/account", true},
		{"site path with query and fragment", "/account?x=1#y", site + "/account?x=1#y", true},
		{"site root", "/", site + "/", true},
		{"site URL", site + "/x", site + "/x", true},
		{"site URL, host in capitals", "http://APP.example.com/x?y=1", site + "/x?y=1", true},
		{"site URL without a path", site, site, true},
		{"dot segments resolved", "/a/b/../c", site + "/a/c", true},
		{"dot segments up to the root stay on the site", "/a/../..//evil.com", site + "/evil.com", true},
		{"encoded dot segments stay on the site", "/a/%2e%2e//evil.com", site + "/evil.com", true},
		{"encoded slash inside the path keeps its escaping", "/files/a%2Fb", site + "/files/a%2Fb", true},
		{"trailing slash kept", "/account/", site + "/account/", true},

		// Allowed: an allowed URL and what is below it.
		{"allowed URL", "https://partner.example.org/cb", "https://partner.example.org/cb", true},
		{"allowed URL with a query", "https://partner.example.org/cb?state=1#f", "https://partner.example.org/cb?state=1#f", true},
		{"below an allowed URL", "https://partner.example.org/cb/sub", "https://partner.example.org/cb/sub", true},
		{"allowed URL with a trailing slash", "https://partner.example.org/cb/", "https://partner.example.org/cb/", true},
		{"allowed host with a Kelvin sign comes back as configured", "https://bac\u212aend.example.org/app", "https://backend.example.org/app", true},
		{"allowed host in capitals", "https://PARTNER.Example.org/cb/sub", "https://partner.example.org/cb/sub", true},
		{"dot segments below an allowed URL are cleaned", "https://partner.example.org/cb/sub/../x", "https://partner.example.org/cb/x", true},
		{"allowed subtree", "https://partner.example.org/dir/x/y", "https://partner.example.org/dir/x/y", true},
		{"allowed subtree root", "https://partner.example.org/dir/", "https://partner.example.org/dir/", true},
		{"allowed host with port", "https://ports.example.org:8443/anything", "https://ports.example.org:8443/anything", true},

		// Refused: spellings of another host as a site path.
		{"three slashes", "///evil.com", "", false},
		{"four slashes", "////evil.com", "", false},
		{"three slashes with a path", "///evil.com/login?x=1", "", false},
		{"slash backslash", "/\\evil.com", "", false},
		{"backslash slash", "\\/evil.com", "", false},
		{"two backslashes", "\\\\evil.com", "", false},
		{"backslash in the query", "/account?next=\\evil", "", false},
		{"encoded slashes", "/%2f%2fevil.com", "", false},
		{"encoded slash", "/%2F/evil.com", "", false},
		{"encoded backslash", "/%5Cevil.com", "", false},
		{"tab between slashes", "/\t/evil.com", "", false},
		{"newline between slashes", "/\n/evil.com", "", false},
		{"carriage return between slashes", "/\r/evil.com", "", false},
		{"leading tab", "\t//evil.com", "", false},
		{"leading space", " //evil.com", "", false},
		{"encoded tab between slashes", "/%09/evil.com", "", false},
		{"NUL", "/\x00/evil.com", "", false},
		{"protocol-relative", "//evil.com", "", false},
		{"protocol-relative to the site itself", "//app.example.com/x", "", false},
		{"relative path", "account", "", false},
		{"dot relative path", "./account", "", false},

		// Refused: absolute URLs a browser reads differently, or off the site.
		{"scheme without slashes", "https:evil.com", "", false},
		{"scheme with one slash", "https:/evil.com", "", false},
		{"scheme with three slashes", "http:///evil.com", "", false},
		{"javascript", "javascript:alert(1)", "", false},
		{"data", "data:text/html,hi", "", false},
		{"foreign host", "https://evil.com/", "", false},
		{"site host as a prefix", "http://app.example.com.evil.com/", "", false},
		{"user info", "http://app.example.com@evil.com/", "", false},
		{"user info on the site", "http://user@app.example.com/x", "", false},
		{"site host, other scheme", "https://app.example.com/x", "", false},
		{"site host, other port", "http://app.example.com:8080/x", "", false},
		{"site URL with a path of three slashes", site + "///evil.com", "", false},
		{"site URL with encoded slashes", site + "/%2f%2fevil.com", "", false},
		{"site URL with an encoded backslash", site + "/%5Cevil.com", "", false},

		// Refused: near misses of the allowed URLs.
		{"allowed path as a string prefix", "https://partner.example.org/cbevil", "", false},
		{"dot segments out of an allowed URL", "https://partner.example.org/cb/../../x", "", false},
		{"dot segments out of an allowed URL, no trailing part", "https://partner.example.org/cb/..", "", false},
		{"encoded dot segments out of an allowed URL", "https://partner.example.org/cb/%2e%2e/x", "", false},
		{"encoded slash and dots out of an allowed URL", "https://partner.example.org/cb%2f..%2fx", "", false},
		{"allowed host, root", "https://partner.example.org/", "", false},
		{"allowed host, no path", "https://partner.example.org", "", false},
		{"allowed host, other scheme", "http://partner.example.org/cb", "", false},
		{"allowed host, explicit default port", "https://partner.example.org:443/cb", "", false},
		{"allowed host as a prefix", "https://partner.example.org.evil.com/cb", "", false},
		{"allowed path, other host", "https://evil.com/cb", "", false},
		{"subtree without its slash", "https://partner.example.org/dir", "", false},
		{"subtree as a string prefix", "https://partner.example.org/direvil", "", false},
		{"allowed host without its port", "https://ports.example.org/x", "", false},
		{"allowed host, other port", "https://ports.example.org:9443/x", "", false},
		{"allowed host, other scheme (ftp)", "ftp://partner.example.org/cb", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, site+"/.ory/kratos/public/self-service/login/browser", nil)
			got, err := s.site.CheckReturnTo(r, tc.raw)
			if !tc.ok {
				var e *apierror.Error
				if !errors.As(err, &e) || e.ID != "self_service_flow_return_to_forbidden" || e.Code != http.StatusBadRequest {
					t.Fatalf("checkReturnTo(%q) = %q, %v; want 400 self_service_flow_return_to_forbidden", tc.raw, got, err)
				}
				if got != "" {
					t.Errorf("checkReturnTo(%q) refused but returned %q", tc.raw, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("checkReturnTo(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
			}
			if got == "" {
				return
			}
			wantSafeLocation(t, tc.raw, got)
			// What it returns is accepted again, unchanged.
			if again, err := s.site.CheckReturnTo(r, got); err != nil || again != got {
				t.Errorf("checkReturnTo(%q) = %q, %v; want it unchanged", got, again, err)
			}
		})
	}
}

// With a public URL, site paths go to it whatever the request's Host.
func TestCheckReturnToPublicURL(t *testing.T) {
	s := newFlowEnv(t, publicURL("https://app.example.com")).s
	r := httptest.NewRequest(http.MethodGet, "http://10.0.0.7:8080/.ory/kratos/public/self-service/login/browser", nil)
	for raw, want := range map[string]string{
		"/account":                  "https://app.example.com/account",
		"https://app.example.com/x": "https://app.example.com/x",
		"///evil.com":               "",
		"/\\evil.com":               "",
		"http://10.0.0.7:8080/x":    "",
		"http://app.example.com/x":  "",
	} {
		got, err := s.site.CheckReturnTo(r, raw)
		if want == "" {
			if err == nil {
				t.Errorf("checkReturnTo(%q) = %q, want it refused", raw, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("checkReturnTo(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}

// Without a Host (and no public URL) there is no origin to put a path on:
// "http:///account" would be "http://account/" to a browser.
func TestCheckReturnToWithoutHost(t *testing.T) {
	s := newFlowEnv(t).s
	r := httptest.NewRequest(http.MethodGet, "/.ory/kratos/public/self-service/login/browser", nil)
	r.Host = ""
	for _, raw := range []string{"/account", "/", "http:///account"} {
		if got, err := s.site.CheckReturnTo(r, raw); err == nil {
			t.Errorf("checkReturnTo(%q) without a Host = %q, want it refused", raw, got)
		}
	}
}

// absolute is used for configured UI and return URLs: a value starting with
// "/" always comes out absolute, never as "//…" or "/\…".
func TestAbsolute(t *testing.T) {
	s := newFlowEnv(t).s
	r := httptest.NewRequest(http.MethodGet, "http://app.example.com/x", nil)
	for ref, want := range map[string]string{
		"/":                              "http://app.example.com/",
		"/ui/login?x=1":                  "http://app.example.com/ui/login?x=1",
		"https://ui.example.com/login":   "https://ui.example.com/login",
		"//cdn.example.com/login":        "http://cdn.example.com/login",
		"///evil.com":                    "http://app.example.com///evil.com",
		"/\\evil.com":                    "http://app.example.com/%5Cevil.com",
		"/%zz":                           "http://app.example.com/%zz",
		"/a/../b":                        "http://app.example.com/b",
		"http://app.example.com/a?b=c#d": "http://app.example.com/a?b=c#d",
	} {
		got := s.site.Absolute(r, ref)
		if got != want {
			t.Errorf("absolute(%q) = %q, want %q", ref, got, want)
		}
		wantSafeLocation(t, ref, got)
	}
}

// The browser flows refuse a return_to off the site when they start, with
// or without a session, and never redirect to "//…".
func TestFlowInitRefusesOpenRedirect(t *testing.T) {
	c := newFlowEnv(t, func(c *Config) { c.AllowedReturnURLs = []string{"https://partner.example.org/cb"} }).newClient(callerAPI)
	c.site = "http://app.example.com"
	for _, kind := range []string{"login", "registration", "settings"} {
		for _, raw := range []string{"///evil.com", "////evil.com", "/\\evil.com", "\\/evil.com", "/\t/evil.com", "https:evil.com", "https://partner.example.org/cbevil", "https://partner.example.org/cb/../../x"} {
			target := "http://app.example.com" + DefaultPublicPrefix + "/self-service/" + kind + "/browser?return_to=" + url.QueryEscape(raw)

			w := c.get(target)
			if e := w.doc.Error; w.Code != http.StatusBadRequest || e == nil || e.ID != "self_service_flow_return_to_forbidden" {
				t.Errorf("%s %q (JSON): status %d %s, want 400 self_service_flow_return_to_forbidden", kind, raw, w.Code, w.Body)
			}

			w = c.get(target, "Accept", "text/html")
			loc := w.Location()
			if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "http://app.example.com"+DefaultPublicPrefix+siteurl.ErrorPath+"?") {
				t.Errorf("%s %q (browser): status %d Location %q, want the error UI", kind, raw, w.Code, loc)
			}
		}
	}
}
