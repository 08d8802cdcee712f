package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// openRedirects are return_to values a browser would follow off the site if
// they came back in a Location header as given.
var openRedirects = []string{
	"///evil.com", "////evil.com", "/\\evil.com", "\\/evil.com", "/\t/evil.com", "https:evil.com",
	"/%2f%2fevil.com", "https://partner.example.org/cbevil", "https://partner.example.org/cb/../../x",
}

// wantNoOffSiteRedirect fails if res redirects anywhere but an absolute URL
// on the site.
func wantNoOffSiteRedirect(t *testing.T, s *site, res *response) {
	t.Helper()
	loc := res.Header.Get("Location")
	if loc == "" {
		return
	}
	if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || !strings.HasPrefix(loc, s.public+"/") {
		t.Fatalf("%s %s: redirect to %q, want nothing off %s", res.Request.Method, res.Request.URL, loc, s.public)
	}
}

// wantReturnToForbidden checks that a browser flow init with this return_to
// is refused: 400 self_service_flow_return_to_forbidden for JSON callers, the
// error UI (on the site) for plain browsers.
func wantReturnToForbidden(t *testing.T, s *site, c *http.Client, kind, returnTo string) {
	t.Helper()
	u := s.kratos() + "/self-service/" + kind + "/browser?return_to=" + url.QueryEscape(returnTo)
	res := do(t, c, "GET", u, nil, "Accept", "text/html")
	wantNoOffSiteRedirect(t, s, res)
	wantStatus(t, res, 303)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, s.kratos()+"/ui/error?") {
		t.Fatalf("%s return_to=%q: Location %q, want the error UI", kind, returnTo, loc)
	}
	res = do(t, c, "GET", u, nil, "Accept", "application/json")
	wantNoOffSiteRedirect(t, s, res)
	wantStatus(t, res, 400)
	if id := get(res.json(t), "error", "id"); id != "self_service_flow_return_to_forbidden" {
		t.Fatalf("%s return_to=%q: error id %v\n%s", kind, returnTo, id, res.body)
	}
}

func TestReturnToOpenRedirect(t *testing.T) {
	s := startSite(t, "allowed_return_urls https://partner.example.org/cb")
	registerAPI(t, s, "eve@example.com", "a long enough secret")

	t.Run("signed in", func(t *testing.T) {
		c := browser(t)
		res := loginBrowser(t, s, c, "eve@example.com", "a long enough secret", "")
		wantStatus(t, res, 303)
		wantNoOffSiteRedirect(t, s, res)
		for _, bad := range openRedirects {
			for _, kind := range []string{"login", "registration", "settings"} {
				wantReturnToForbidden(t, s, c, kind, bad)
			}
		}
		// Still signed in, an allowed return_to is an immediate redirect.
		for raw, want := range map[string]string{
			"/account?x=1#y":                     s.public + "/account?x=1#y",
			s.public + "/x":                      s.public + "/x",
			"https://partner.example.org/cb":     "https://partner.example.org/cb",
			"https://partner.example.org/cb/sub": "https://partner.example.org/cb/sub",
		} {
			res := do(t, c, "GET", s.kratos()+"/self-service/login/browser?return_to="+url.QueryEscape(raw), nil)
			wantStatus(t, res, 303)
			if got := res.Header.Get("Location"); got != want {
				t.Fatalf("signed in, return_to=%q: Location %q, want %q", raw, got, want)
			}
		}
	})

	t.Run("signed out", func(t *testing.T) {
		c := browser(t)
		for _, bad := range openRedirects {
			for _, kind := range []string{"login", "registration"} {
				wantReturnToForbidden(t, s, c, kind, bad)
			}
		}
		// An allowed sub-path survives the flow and is where login ends.
		res := loginBrowser(t, s, c, "eve@example.com", "a long enough secret", "?return_to="+url.QueryEscape("https://partner.example.org/cb/done?state=1"))
		wantStatus(t, res, 303)
		if got := res.Header.Get("Location"); got != "https://partner.example.org/cb/done?state=1" {
			t.Fatalf("after login Location %q", got)
		}
	})
}
