package integration

// The harness of the several-instances tests: real Caddy processes, built
// once from cmd/caddy, each with its own public site on a shared Redis
// (standalone, Sentinel or Cluster), and a front that stands for the load
// balancer before them.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// caddyStartTimeout bounds how long a Caddy process may take to answer.
const caddyStartTimeout = 30 * time.Second

// builtCaddy is the Caddy binary built from cmd/caddy, once per test run.
var builtCaddy struct {
	once sync.Once
	path string
	err  error
}

// caddyBinary builds cmd/caddy (the standard modules and ours, as xcaddy
// would) once per run of the test binary and returns its path. It lives in
// one directory per checkout under the temporary directory, replaced by
// every run, so runs do not pile binaries up.
func caddyBinary(t *testing.T) string {
	t.Helper()
	builtCaddy.once.Do(func() {
		repo, err := filepath.Abs("..")
		if err != nil {
			builtCaddy.err = err
			return
		}
		sum := sha256.Sum256([]byte(repo))
		dir := filepath.Join(os.TempDir(), "caddy-kratos-ha-"+hex.EncodeToString(sum[:6]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			builtCaddy.err = err
			return
		}
		tmp, err := os.CreateTemp(dir, "caddy-*")
		if err != nil {
			builtCaddy.err = err
			return
		}
		_ = tmp.Close()
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", tmp.Name(), "./cmd/caddy")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = os.Remove(tmp.Name())
			builtCaddy.err = fmt.Errorf("go build ./cmd/caddy: %v\n%s", err, out)
			return
		}
		builtCaddy.path = filepath.Join(dir, "caddy")
		builtCaddy.err = os.Rename(tmp.Name(), builtCaddy.path)
		t.Logf("built %s in %s", builtCaddy.path, time.Since(start).Round(time.Millisecond))
	})
	if builtCaddy.err != nil {
		t.Fatalf("the Caddy binary: %v", builtCaddy.err)
	}
	return builtCaddy.path
}

// instance is a Caddy process: one public site, kratos with
// identity_headers in front of an app of its own that records what it
// gets.
type instance struct {
	name string
	addr string // 127.0.0.1:<port>
	app  *appRecorder
}

// url is the instance's own origin.
func (i *instance) url() string { return "http://" + i.addr }

// site is the instance addressed directly, for the helpers that take a
// site; its URLs are right when the instance has no public_url.
func (i *instance) site(t testing.TB) *site { return &site{t: t, public: i.url()} }

// startInstance starts a Caddy process whose public site runs kratos (the
// seed schema, identity_headers, rate_limit off, this store block and
// extra options) before an app of its own. It is killed when the test
// ends; if the test failed, the end of its log is logged.
func startInstance(t *testing.T, name, store, extra string) *instance {
	t.Helper()
	bin := caddyBinary(t)
	dir := t.TempDir()
	schemaPath := seedSchemaFile(t)
	app, upstream := startAppRecorder(t)

	var lastErr error
	for range 3 { // a port found free may be taken before Caddy binds it
		port := freePort(t)
		caddyfile := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
	grace_period 1ns
}
http://:%d {
	kratos {
		identity_schema %s
		store %s
		identity_headers
		rate_limit off
		%s
	}
	reverse_proxy %s
}
`, port, schemaPath, store, extra, upstream)
		config := filepath.Join(dir, fmt.Sprintf("Caddyfile.%d", port))
		if err := os.WriteFile(config, []byte(caddyfile), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = runCaddy(t, bin, name, config, addr, dir); lastErr == nil {
			return &instance{name: name, addr: addr, app: app}
		}
	}
	t.Fatalf("caddy %s: %v", name, lastErr)
	return nil
}

// runCaddy runs `caddy run` on config, with its log and any file it writes
// in dir, and waits until addr answers the health check.
func runCaddy(t *testing.T, bin, name, config, addr, dir string) error {
	t.Helper()
	logPath := config + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "run", "--config", config, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	ctx, cancel := context.WithTimeout(context.Background(), caddyStartTimeout)
	defer cancel()
	health := "http://" + addr + "/.ory/kratos/public/health/alive"
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", health, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("caddy exited before answering on %s:\n%s", addr, log)
		case <-ctx.Done():
			stop()
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("caddy did not answer on %s in %s:\n%s", addr, caddyStartTimeout, log)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			const tail = 8 << 10
			if len(log) > tail {
				log = log[len(log)-tail:]
			}
			t.Logf("caddy %s (%s), end of its log:\n%s", name, addr, log)
		}
	})
	return nil
}

// front is the public origin that instances share behind a load balancer:
// each has it as public_url, so every URL they emit, the CSRF cookie's
// name and the return_to checks are the same on all of them. Nobody
// listens there: a client from front.client sends each request for it to
// the instance last chosen with use, as a load balancer without sticky
// sessions may.
type front struct {
	t      testing.TB
	origin string // http://127.0.0.1:<port>
	host   string
	to     atomic.Pointer[instance]
}

func newFront(t testing.TB) *front {
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	return &front{t: t, origin: "http://" + host, host: host}
}

// use sends the front's next requests to i.
func (f *front) use(i *instance) { f.to.Store(i) }

// site is the front, for the helpers that take a site.
func (f *front) site() *site { return &site{t: f.t, public: f.origin} }

// client is a browser-like client of the front: it keeps cookies (by the
// front's host, whichever instance answered) and does not follow
// redirects.
func (f *front) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: f, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// RoundTrip sends a request for the front's origin to the chosen instance.
func (f *front) RoundTrip(r *http.Request) (*http.Response, error) {
	to := f.to.Load()
	if to == nil || r.URL.Host != f.host {
		return nil, errors.New("front: no instance chosen, or a request for another host: " + r.URL.String())
	}
	r = r.Clone(r.Context())
	r.URL.Host, r.Host = to.addr, ""
	return http.DefaultTransport.RoundTrip(r)
}
