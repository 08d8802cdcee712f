package flows

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/siteurl"
	"github.com/seed06f30684/caddy-kratos/internal/testenv"
	"github.com/seed06f30684/caddy-kratos/memstore"
)

// passthroughService is a Service on a memory store with the admin test
// schema; public, when set, is its public URL.
func passthroughService(t *testing.T, public string, now func() time.Time) *Service {
	t.Helper()
	sch := testenv.Schema(t, testenv.PersonSchema)
	cfg := Config{Schema: sch, Store: memstore.New(), PasswordCost: bcrypt.MinCost, Now: now}
	if public != "" {
		var err error
		if cfg.PublicURL, err = url.Parse(public); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRequireSessionJSONCallers(t *testing.T) {
	s := passthroughService(t, "", nil)
	for name, header := range map[string][2]string{
		"accept json":      {"Accept", "application/json"},
		"json body":        {"Content-Type", "application/json"},
		"session token":    {"X-Session-Token", "ory_st_notavalidtokenatallnotvalid00"},
		"bearer token":     {"Authorization", "Bearer ory_st_x"},
		"accept prefers":   {"Accept", "text/html;q=0.5, application/json"},
		"lowercase bearer": {"Authorization", "bearer x"},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://app.example.com/account", nil)
		r.Header.Set(header[0], header[1])
		w := httptest.NewRecorder()
		s.RequireSession(w, r, "")
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
func startLogin(t *testing.T, s *Service, location string) *identity.Flow {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	rel, ok := strings.CutPrefix(u.Path, DefaultPublicPrefix)
	if !ok {
		t.Fatalf("redirect %q is not under the public prefix", location)
	}
	r := httptest.NewRequest(http.MethodGet, location, nil)
	w := httptest.NewRecorder()
	s.ServePublic(w, r, rel)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("GET %s: status %d\n%s", location, w.Code, w.Body)
	}
	next, _ := url.Parse(w.Header().Get("Location"))
	if !strings.HasSuffix(next.Path, siteurl.LoginPath) {
		t.Fatalf("GET %s went to %s, want the login UI (return_to refused?)", location, next)
	}
	f, err := s.cfg.Store.GetFlow(r.Context(), next.Query().Get("flow"))
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
			s := passthroughService(t, tc.public, nil)
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
			w := httptest.NewRecorder()
			s.RequireSession(w, r, tc.page)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303\n%s", w.Code, w.Body)
			}
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			base := s.site.Base(r)
			if loc.Scheme != base.Scheme || loc.Host != base.Host || loc.Path != DefaultPublicPrefix+"/self-service/login/browser" {
				t.Errorf("Location %s, want the browser login flow on %s", loc, base)
			}
			if got := loc.Query().Get("return_to"); got != tc.want {
				t.Errorf("return_to %q, want %q", got, tc.want)
			}
			if w.Header().Get("Cache-Control") == "" {
				t.Error("redirect is cacheable")
			}
			if f := startLogin(t, s, loc.String()); f.ReturnTo != tc.want {
				t.Errorf("login flow return_to %q, want %q", f.ReturnTo, tc.want)
			}
		})
	}
}

func TestRequireSessionDropsWhatCheckReturnToRefuses(t *testing.T) {
	s := passthroughService(t, "", nil)
	r := httptest.NewRequest(http.MethodGet, "http://app.example.com/x", nil)
	for page, want := range map[string]string{
		"/a?b=c\\d":   "http://app.example.com/a", // a query checkReturnTo refuses
		"//evil.com/": "",                         // never a return_to off the site
		"*":           "",
	} {
		w := httptest.NewRecorder()
		s.RequireSession(w, r, page)
		loc, _ := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusSeeOther {
			t.Errorf("%q: status %d", page, w.Code)
			continue
		}
		if got := loc.Query().Get("return_to"); got != want {
			t.Errorf("%q: return_to %q, want %q", page, got, want)
		}
		startLogin(t, s, loc.String())
	}
}

func TestStoreUnavailable(t *testing.T) {
	s := passthroughService(t, "", nil)
	w := httptest.NewRecorder()
	s.StoreUnavailable(w, httptest.NewRequest(http.MethodGet, "/account", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"code":503`) {
		t.Errorf("got %d %s, want the 503 envelope", w.Code, w.Body)
	}
}

func TestPrivileged(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := passthroughService(t, "", func() time.Time { return now })
	sess := &identity.Session{Active: true, AuthenticatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	if !s.Privileged(sess) {
		t.Error("a session signed in a minute ago is not privileged")
	}
	sess.AuthenticatedAt = now.Add(-DefaultPrivilegedSessionMaxAge - time.Second)
	if s.Privileged(sess) {
		t.Error("a session older than privileged_session_max_age is privileged")
	}
}
