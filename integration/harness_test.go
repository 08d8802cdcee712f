package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/seed06f30684/caddy-kratos/caddymodule"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// site is a running Caddy with the kratos handler on a public and an admin
// listener, backed by a real redis-server (or, from startSiteMemory, by the
// memory store).
type site struct {
	t      testing.TB
	public string // http://127.0.0.1:<port>
	admin  string
	app    string // the upstream app behind the public site
	redis  string // the redis-server's address; "" for the memory store
}

// seedSchema is the identity schema of Kratos v0.1.
const seedSchema = `{
  "$id": "https://example.org/identity.traits.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "email": {
      "type": "string",
      "format": "email",
      "title": "E-Mail",
      "minLength": 3,
      "ory.sh/kratos": {
        "credentials": {
          "password": {
            "identifier": true
          }
        }
      }
    },
    "name": {
      "type": "object",
      "properties": {
        "first": {
          "type": "string",
          "minLength": 5
        },
        "last": {
          "type": "string"
        }
      }
    }
  },
  "required": ["email"],
  "additionalProperties": false
}`

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSite starts Caddy with a public site (kratos + a small app) and an
// admin site, with the v0.1 API's identity schema; extra is added inside the
// public kratos block.
func startSite(t testing.TB, extra string) *site {
	t.Helper()
	return startSiteWithSchema(t, seedSchema, extra)
}

// startSiteWithSchema is startSite with another identity schema.
func startSiteWithSchema(t testing.TB, identitySchema, extra string) *site {
	t.Helper()
	return startSiteWithRoutes(t, identitySchema, extra, "")
}

// startSiteWithRoutes is startSiteWithSchema with routes, Caddyfile
// directives of the public site's own (a handle_path serving files, say),
// beside its kratos handler and the app.
func startSiteWithRoutes(t testing.TB, identitySchema, extra, routes string) *site {
	t.Helper()
	redisAddr := redistest.StartServer(t)
	store := fmt.Sprintf("store redis {\n\t\turls redis://%s/0\n\t\tkey_prefix t%d\n\t}", redisAddr, time.Now().UnixNano())
	s := startSiteWithStore(t, identitySchema, store, extra, routes)
	s.redis = redisAddr
	return s
}

// startSiteMemory is startSite with the memory store instead of Redis. That
// store is shared by the whole process and outlives config reloads, so
// identities from earlier tests are still there.
func startSiteMemory(t testing.TB, extra string) *site {
	t.Helper()
	return startSiteWithStore(t, seedSchema, "store memory", extra, "")
}

// startSiteWithStore starts the sites of startSite with this identity schema,
// `store` line and public site routes (see startSiteWithRoutes).
func startSiteWithStore(t testing.TB, identitySchema, store, extra, routes string) *site {
	t.Helper()
	return startSitePatched(t, identitySchema, store, extra, routes, nil)
}

// startSitePatched is startSiteWithStore with patch applied to the adapted
// JSON config before it is loaded (to add what a Caddyfile cannot say,
// such as the events app's subscriptions); patch may be nil.
func startSitePatched(t testing.TB, identitySchema, store, extra, routes string, patch func(cfg map[string]any)) *site {
	t.Helper()
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "identity.schema.json")
	if err := os.WriteFile(schemaPath, []byte(identitySchema), 0o600); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(extra, "rate_limit") {
		// The tests send far more self-service requests a minute from
		// 127.0.0.1 than a person would; the throttle has tests of its own.
		extra += "\n\t\trate_limit off"
	}
	pub, adm, app := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`{
	admin off
	auto_https off
	grace_period 1ns
}
http://127.0.0.1:%d {
	kratos {
		identity_schema %s
		%s
		%s
	}
	%s
	reverse_proxy 127.0.0.1:%d
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	kratos {
		identity_schema %s
		%s
		admin
	}
}
http://127.0.0.1:%d {
	respond "app saw user={header.X-Kratos-Authenticated-Identity-Id}" 200
}
`, pub, schemaPath, store, extra, routes, app, adm, schemaPath, store, app)
	adapter := caddyconfig.GetAdapter("caddyfile")
	js, warnings, err := adapter.Adapt([]byte(cfg), nil)
	if err != nil {
		t.Fatalf("adapt: %v\n%s", err, cfg)
	}
	for _, w := range warnings {
		t.Logf("caddyfile warning: %s", w.Message)
	}
	if patch != nil {
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			t.Fatal(err)
		}
		patch(m)
		if js, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := caddy.Load(js, true); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	s := &site{t: t, public: fmt.Sprintf("http://127.0.0.1:%d", pub), admin: fmt.Sprintf("http://127.0.0.1:%d", adm), app: fmt.Sprintf("http://127.0.0.1:%d", app)}
	return s
}

// kratos is the public API base URL.
func (s *site) kratos() string { return s.public + "/.ory/kratos/public" }

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see every 302/303.
func browser(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// response is a read response.
type response struct {
	*http.Response
	body []byte
}

func (r *response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body is not a JSON object: %v\n%s", r.StatusCode, err, r.body)
	}
	return m
}

// do sends a request; body is a url.Values (form), a string (JSON) or nil.
func do(t testing.TB, c *http.Client, method, u string, body any, header ...string) *response {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return &response{Response: res, body: raw}
}

func wantStatus(t testing.TB, r *response, code int) {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL, r.StatusCode, code, r.body)
	}
}

// get walks a path of keys ("ui", "nodes") through decoded JSON.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// node returns the flow node with this name.
func node(flow map[string]any, name string) map[string]any {
	nodes, _ := get(flow, "ui", "nodes").([]any)
	for _, n := range nodes {
		if get(n, "attributes", "name") == name {
			return n.(map[string]any)
		}
	}
	return nil
}

// csrfOf returns the CSRF token of a flow.
func csrfOf(t *testing.T, flow map[string]any) string {
	t.Helper()
	v, _ := get(node(flow, "csrf_token"), "attributes", "value").(string)
	if v == "" {
		t.Fatalf("flow has no csrf_token: %v", flow)
	}
	return v
}
