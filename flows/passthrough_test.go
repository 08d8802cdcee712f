package flows

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
)

func TestRequireSessionJSONCallers(t *testing.T) {
	s := newFlowEnv(t).s
	for name, header := range map[string][2]string{
		"accept json":      {"Accept", "application/json"},
		"json body":        {"Content-Type", "application/json"},
		"session token":    {"X-Session-Token", "ory_st_notavalidtokenatallnotvalid00"},
		"bearer token":     {"Authorization", "Bearer ory_st_x"},
		"accept prefers":   {"Accept", "text/html;q=0.5, application/json"},
		"lowercase bearer": {"Authorization", "bearer x"},
	} {
		w := httptest.NewRecorder()
		s.RequireSession(w, testenv.Request(http.MethodGet, "http://app.example.com/account", "", header[0], header[1]), "")
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, w.Code)
			continue
		}
		if got := w.Header().Get("Ory-Error-Id"); got != "session_inactive" {
			t.Errorf("%s: Ory-Error-Id %q", name, got)
		}
		var env struct {
			Error struct {
				ID   string `json:"id"`
				Code int    `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Error.ID != "session_inactive" || env.Error.Code != 401 {
			t.Errorf("%s: body %s (%v)", name, w.Body, err)
		}
	}
}

// startLogin follows a RequireSession redirect into the login flow and
// returns the flow it created.
func startLogin(t *testing.T, e *flowEnv, location string) *identity.Flow {
	t.Helper()
	c := e.newClient(callerBrowser)
	if u, err := url.Parse(location); err == nil {
		c.site = u.Scheme + "://" + u.Host
	}
	w := c.get(location)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("GET %s: status %d\n%s", location, w.Code, w.Body)
	}
	next, _ := url.Parse(w.Location())
	if !strings.HasSuffix(next.Path, siteurl.LoginPath) {
		t.Fatalf("GET %s went to %s, want the login UI (return_to refused?)", location, next)
	}
	f, err := e.store.GetFlow(t.Context(), next.Query().Get("flow"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRequireSessionBrowserGoesToLogin(t *testing.T) {
	for _, tc := range []struct {
		name, public, target, page, want string
	}{
		{"request URL", "", "http://app.example.com/account/x?tab=2&q=a%20b", "",
			"http://app.example.com/account/x?tab=2&q=a%20b"},
		{"public URL wins over the Host", "https://app.example.com", "http://10.0.0.7:8080/account", "",
			"https://app.example.com/account"},
		{"original page given", "", "http://app.example.com/rewritten", "/account/orig?x=1",
			"http://app.example.com/account/orig?x=1"},
		{"site root", "", "http://app.example.com/", "", "http://app.example.com/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFlowEnv(t, publicURL(tc.public))
			r := testenv.Request(http.MethodGet, tc.target, "", "Accept", testAccept)
			w := httptest.NewRecorder()
			e.s.RequireSession(w, r, tc.page)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303\n%s", w.Code, w.Body)
			}
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			base := e.s.site.Base(r)
			if loc.Scheme != base.Scheme || loc.Host != base.Host || loc.Path != DefaultPublicPrefix+"/self-service/login/browser" {
				t.Errorf("Location %s, want the browser login flow on %s", loc, base)
			}
			if got := loc.Query().Get("return_to"); got != tc.want {
				t.Errorf("return_to %q, want %q", got, tc.want)
			}
			if w.Header().Get("Cache-Control") == "" {
				t.Error("redirect is cacheable")
			}
			if f := startLogin(t, e, loc.String()); f.ReturnTo != tc.want {
				t.Errorf("login flow return_to %q, want %q", f.ReturnTo, tc.want)
			}
		})
	}
}

func TestRequireSessionDropsWhatCheckReturnToRefuses(t *testing.T) {
	e := newFlowEnv(t)
	r := httptest.NewRequest(http.MethodGet, "http://app.example.com/x", nil)
	for page, want := range map[string]string{
		"/a?b=c\\d":   "http://app.example.com/a", // a query checkReturnTo refuses
		"//evil.com/": "",                         // never a return_to off the site
		"*":           "",
	} {
		w := httptest.NewRecorder()
		e.s.RequireSession(w, r, page)
		loc, _ := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusSeeOther {
			t.Errorf("%q: status %d", page, w.Code)
			continue
		}
		if got := loc.Query().Get("return_to"); got != want {
			t.Errorf("%q: return_to %q, want %q", page, got, want)
		}
		startLogin(t, e, loc.String())
	}
}

func TestStoreUnavailable(t *testing.T) {
	w := httptest.NewRecorder()
	newFlowEnv(t).s.StoreUnavailable(w, httptest.NewRequest(http.MethodGet, "/account", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"code":503`) {
		t.Errorf("got %d %s, want the 503 envelope", w.Code, w.Body)
	}
}

func TestPrivileged(t *testing.T) {
	e := newFlowEnv(t)
	s, now := e.s, e.clock.Now()
	sess := &identity.Session{Active: true, AuthenticatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	if !s.Privileged(sess) {
		t.Error("a session signed in a minute ago is not privileged")
	}
	sess.AuthenticatedAt = now.Add(-DefaultPrivilegedSessionMaxAge - time.Second)
	if s.Privileged(sess) {
		t.Error("a session older than privileged_session_max_age is privileged")
	}
}
