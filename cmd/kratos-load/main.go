// Command kratos-load measures the hot paths of a real Caddy with the kratos
// handler, run as its own process, as `make bench-load` does: the settings
// round trip (an API settings flow created, then its profile method
// submitted) and whoami, each from -c client goroutines over keep-alive
// connections for -d, on Redis and on the memory store; and, when wrk is
// installed, a request for the app through reverse_proxy with a session
// and identity_headers, and without one, as a ratio to the same request
// through a plain reverse_proxy of the same Caddy. It prints ops/s, p50
// and p99, Caddy's CPU time per operation (steadier than the rate on a
// shared machine), the Redis commands per operation and Caddy's peak RSS;
// with -profile, Caddy's CPU profile of each measurement.
//
//	go build -o /tmp/caddy ./cmd/caddy
//	go run ./cmd/kratos-load -caddy /tmp/caddy
//
// The client, Caddy, Redis and wrk share the machine: compare figures of
// one run with each other, not with another machine's.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// schema is the identity schema of the sites: an email identifier and a
// name, as the integration tests use.
const schema = `{
  "$id": "https://example.org/identity.traits.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "email": {"type": "string", "format": "email", "minLength": 3,
      "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}},
    "name": {"type": "object", "properties": {"first": {"type": "string", "minLength": 5}, "last": {"type": "string"}}}
  },
  "required": ["email"],
  "additionalProperties": false
}`

type options struct {
	caddy, redisServer, wrk string
	profileDir              string
	conns                   int
	duration                time.Duration
	stores                  []string
}

func main() {
	var o options
	var stores string
	flag.StringVar(&o.caddy, "caddy", "", "the Caddy binary with the kratos module (go build -o /tmp/caddy ./cmd/caddy)")
	flag.StringVar(&o.redisServer, "redis-server", "redis-server", "the redis-server binary")
	flag.StringVar(&o.wrk, "wrk", "wrk", "the wrk binary; the app path is skipped when it is not found")
	flag.IntVar(&o.conns, "c", 32, "concurrent clients (goroutines, and wrk connections)")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "duration of each measurement")
	flag.StringVar(&stores, "stores", "redis,memory", "the stores to measure, comma-separated")
	flag.StringVar(&o.profileDir, "profile", "", "a directory for Caddy's CPU profile of each measurement (<store>-<measurement>.pprof; go tool pprof <caddy binary> <file>)")
	flag.Parse()
	o.stores = strings.Split(stores, ",")
	if o.caddy == "" {
		fmt.Fprintln(os.Stderr, "kratos-load: -caddy is required")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "kratos-load:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if _, err := exec.LookPath(o.wrk); err != nil {
		fmt.Printf("(wrk not found: the app path is not measured)\n")
		o.wrk = ""
	}
	fmt.Printf("%s, %d CPUs, %s; c=%d, %s each\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), o.conns, o.duration)
	for _, store := range o.stores {
		if err := measureStore(o, store); err != nil {
			return fmt.Errorf("%s: %w", store, err)
		}
	}
	return nil
}

// measureStore starts redis-server (for "redis") and Caddy, and runs every
// measurement against them.
func measureStore(o options, store string) error {
	dir, err := os.MkdirTemp("", "kratos-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var redisAddr string
	switch store {
	case "redis":
		addr, stop, err := startRedis(o.redisServer, dir)
		if err != nil {
			return err
		}
		defer stop()
		redisAddr = addr
	case "memory":
	default:
		return fmt.Errorf("unknown store %q (redis or memory)", store)
	}
	app, err := startApp()
	if err != nil {
		return err
	}
	defer app.Close()
	c, stop, err := startCaddy(o.caddy, dir, redisAddr, app.Addr().String(), o.profileDir != "")
	if err != nil {
		return err
	}
	defer stop()

	client := newClient(o.conns)
	users := make([]user, o.conns)
	for i := range users {
		if users[i], err = register(client, c.kratos(), fmt.Sprintf("load%d@example.com", i)); err != nil {
			return err
		}
	}
	fmt.Printf("## %s store (Caddy's RSS before the load: %s)\n\n", store, peakRSS(c.pid))
	fmt.Printf("| measurement | ops/s | p50 | p99 | Caddy's CPU/op | Redis commands/op | Caddy's peak RSS so far |\n|---|---|---|---|---|---|---|\n")
	for _, m := range []struct {
		name, file string
		op         func(u *user) error
	}{
		{"settings round trip (create API flow + profile submit)", "settings", func(u *user) error { return settingsRoundTrip(client, c.kratos(), u) }},
		{"whoami", "whoami", func(u *user) error { return whoami(client, c.kratos(), u) }},
	} {
		before := redisCommands(redisAddr)
		saved := c.profile(o, store+"-"+m.file)
		cpuBefore := cpuTime(c.pid)
		r, err := measure(users, o.duration, m.op)
		cpu := cpuTime(c.pid) - cpuBefore
		if err := errors.Join(err, saved()); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		cmds := "–"
		if redisAddr != "" {
			// -1: the INFO before is counted in the one after.
			cmds = fmt.Sprintf("%.2f", float64(redisCommands(redisAddr)-before-1)/float64(r.ops))
		}
		fmt.Printf("| %s | %.0f | %s | %s | %.0f µs | %s | %s |\n", m.name, r.rate(), ms(r.p(50)), ms(r.p(99)), float64(cpu.Microseconds())/float64(r.ops), cmds, peakRSS(c.pid))
	}
	if o.wrk != "" {
		if err := appPath(o, c, store, users[0].token); err != nil {
			return err
		}
	}
	fmt.Printf("\nCaddy's peak RSS: %s\n\n", peakRSS(c.pid))
	return nil
}

// wrkRounds is how many times appPath measures each path: the machine's
// speed drifts, so each round measures all three in turn and the ratio is
// taken within a round; the median round is printed.
const wrkRounds = 5

// appPath runs wrk on the app path through the plain reverse_proxy, through
// the kratos site with a session, and without one, wrkRounds times in
// turn, and prints the median of each round's ratios to the plain run.
func appPath(o options, c *caddyProc, store, token string) error {
	fmt.Printf("\n| `wrk -t2 -c%d -d%s` to the app, %d rounds | req/s (median) | plain reverse_proxy req/s (median) | ratio (median of the rounds) | Caddy's CPU per request, µs: this path, plain (medians) |\n|---|---|---|---|---|\n",
		o.conns, o.duration, wrkRounds)
	var plain, session, anonymous, sessionRatio, anonymousRatio []float64
	var plainCPU, sessionCPU, anonymousCPU []float64
	for round := range wrkRounds {
		p, err := runWrk(o, c, &plainCPU, c.plain+"/some/page")
		if err != nil {
			return err
		}
		// The profiles of the first round with a session and without.
		saved := func() error { return nil }
		if round == 0 {
			saved = c.profile(o, store+"-app-session")
		}
		ws, err := runWrk(o, c, &sessionCPU, c.public+"/some/page", "X-Session-Token: "+token)
		if err := errors.Join(err, saved()); err != nil {
			return err
		}
		if round == 0 {
			saved = c.profile(o, store+"-app-anonymous")
		}
		wo, err := runWrk(o, c, &anonymousCPU, c.public+"/some/page")
		if err := errors.Join(err, saved()); err != nil {
			return err
		}
		plain, session, anonymous = append(plain, p), append(session, ws), append(anonymous, wo)
		sessionRatio, anonymousRatio = append(sessionRatio, ws/p), append(anonymousRatio, wo/p)
	}
	fmt.Printf("| with a session, identity_headers | %.0f | %.0f | %.2fx | %.0f, %.0f |\n", median(session), median(plain), median(sessionRatio), median(sessionCPU), median(plainCPU))
	fmt.Printf("| without a session | %.0f | %.0f | %.2fx | %.0f, %.0f |\n", median(anonymous), median(plain), median(anonymousRatio), median(anonymousCPU), median(plainCPU))
	return nil
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

var (
	wrkRate     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkRequests = regexp.MustCompile(`([0-9]+) requests in`)
)

// runWrk runs wrk on u and returns its requests per second, and appends
// the CPU time Caddy spent per request (µs) to cpu; every answer must be a
// 200. Caddy's CPU time moves much less than the rate with what else the
// machine runs.
func runWrk(o options, c *caddyProc, cpu *[]float64, u string, headers ...string) (float64, error) {
	args := []string{"-t2", fmt.Sprintf("-c%d", o.conns), fmt.Sprintf("-d%ds", int(o.duration.Seconds()))}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	before := cpuTime(c.pid)
	out, err := exec.Command(o.wrk, append(args, u)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	spent := cpuTime(c.pid) - before
	if strings.Contains(string(out), "Non-2xx") {
		return 0, fmt.Errorf("wrk %s: answers that are not 2xx\n%s", u, out)
	}
	m, n := wrkRate.FindSubmatch(out), wrkRequests.FindSubmatch(out)
	if m == nil || n == nil {
		return 0, fmt.Errorf("wrk: no Requests/sec or requests in\n%s", out)
	}
	if requests, _ := strconv.Atoi(string(n[1])); requests > 0 {
		*cpu = append(*cpu, float64(spent.Microseconds())/float64(requests))
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// cpuTime is the CPU time (user and system) process pid used so far, from
// /proc/<pid>/stat in clock ticks of 10 ms (Linux' USER_HZ), or 0.
func cpuTime(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name in parentheses: state is the
	// first, utime and stime the 12th and 13th.
	_, rest, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// user is a registered identity and its session token.
type user struct {
	email, token string
	n            int
}

// result is what measure saw: the operations and their latencies.
type result struct {
	ops       int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rate() float64 { return float64(r.ops) / r.elapsed.Seconds() }

// p is the q-th percentile latency.
func (r result) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies)-1) * q / 100)
	return r.latencies[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// measure runs op in a loop for d, one goroutine per user, and stops at
// the first error.
func measure(users []user, d time.Duration, op func(*user) error) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	lat := make([][]time.Duration, len(users))
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range users {
		wg.Go(func() {
			for ctx.Err() == nil {
				t := time.Now()
				if err := op(&users[i]); err != nil {
					errs[i] = err
					cancel()
					return
				}
				lat[i] = append(lat[i], time.Since(t))
			}
		})
	}
	wg.Wait()
	r := result{elapsed: time.Since(start)}
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	slices.Sort(r.latencies)
	r.ops = len(r.latencies)
	return r, nil
}

// settingsRoundTrip creates an API settings flow and submits its profile
// method, with name.first alternating between two values.
func settingsRoundTrip(c *http.Client, base string, u *user) error {
	var flow struct{ ID string }
	if err := call(c, "GET", base+"/self-service/settings/api", "", u.token, &flow); err != nil {
		return err
	}
	u.n++
	first := [2]string{"Grace", "Gracie"}[u.n%2]
	body := fmt.Sprintf(`{"method":"profile","traits":{"email":%q,"name":{"first":%q,"last":"Hopper"}}}`, u.email, first)
	return call(c, "POST", base+"/self-service/settings?flow="+flow.ID, body, u.token, nil)
}

// whoami asks for the session.
func whoami(c *http.Client, base string, u *user) error {
	return call(c, "GET", base+"/sessions/whoami", "", u.token, nil)
}

// register signs up through the API registration flow.
func register(c *http.Client, base, email string) (user, error) {
	var flow struct {
		UI struct{ Action string } `json:"ui"`
	}
	if err := call(c, "GET", base+"/self-service/registration/api", "", "", &flow); err != nil {
		return user{}, err
	}
	var done struct {
		SessionToken string `json:"session_token"`
	}
	body := fmt.Sprintf(`{"method":"password","password":"a long enough secret","traits":{"email":%q,"name":{"first":"Grace","last":"Hopper"}}}`, email)
	if err := call(c, "POST", flow.UI.Action, body, "", &done); err != nil {
		return user{}, err
	}
	return user{email: email, token: done.SessionToken}, nil
}

// call sends a JSON request and decodes the answer into out (when not
// nil); any status but 200 is an error.
func call(c *http.Client, method, u, body, token string, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Session-Token", token)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d\n%s", method, u, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func newClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 2*conns, 2*conns
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// startApp starts the upstream app: a 200 with a short body.
func startApp() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "app saw user="+r.Header.Get("X-Kratos-Authenticated-Identity-Id"))
		}))
	}()
	return l, nil
}

// caddyProc is a running Caddy: the kratos site (public), the plain
// reverse_proxy site (plain).
type caddyProc struct {
	pid           int
	public, plain string
	admin         string // Caddy's admin address, with -profile
}

// profile starts taking Caddy's CPU profile for the duration of one
// measurement into <o.profileDir>/<name>.pprof; the returned function waits
// for it. Without -profile it does nothing.
func (c *caddyProc) profile(o options, name string) func() error {
	if o.profileDir == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", c.admin, max(1, int(o.duration.Seconds())-1))
		res, err := http.Get(u)
		if err != nil {
			done <- err
			return
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: status %d", u, res.StatusCode)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(o.profileDir, name+".pprof"), raw, 0o644)
		}
		done <- err
	}()
	return func() error { return <-done }
}

func (c *caddyProc) kratos() string { return c.public + "/.ory/kratos/public" }

// startCaddy starts Caddy with the kratos site, with identity_headers, on
// Redis (redisAddr) or the memory store (""), and a plain reverse_proxy
// site, both in front of app.
func startCaddy(bin, dir, redisAddr, app string, withAdmin bool) (*caddyProc, func(), error) {
	if err := os.WriteFile(filepath.Join(dir, "identity.schema.json"), []byte(schema), 0o600); err != nil {
		return nil, nil, err
	}
	store := "store memory"
	if redisAddr != "" {
		store = "store redis redis://" + redisAddr + "/0"
	}
	pub, plain := freePort(), freePort()
	admin, adminOpt := "", "admin off"
	if withAdmin {
		admin = fmt.Sprintf("127.0.0.1:%d", freePort())
		adminOpt = "admin " + admin
	}
	cfg := fmt.Sprintf(`{
	%s
	auto_https off
	log {
		level ERROR
	}
}
http://127.0.0.1:%d {
	kratos {
		identity_schema %s
		%s
		identity_headers
		rate_limit off
	}
	reverse_proxy %s
}
http://127.0.0.1:%d {
	reverse_proxy %s
}
`, adminOpt, pub, filepath.Join(dir, "identity.schema.json"), store, app, plain, app)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	c := &caddyProc{pid: cmd.Process.Pid, admin: admin, public: fmt.Sprintf("http://127.0.0.1:%d", pub), plain: fmt.Sprintf("http://127.0.0.1:%d", plain)}
	if err := waitFor(func() bool {
		res, err := http.Get(c.kratos() + "/health/alive")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == http.StatusOK
	}); err != nil {
		stop()
		return nil, nil, fmt.Errorf("caddy did not start: %w", err)
	}
	return c, stop, nil
}

// startRedis starts a redis-server without persistence on a free port.
func startRedis(bin, dir string) (string, func(), error) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort())
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	if err := waitFor(func() bool { return redisCommands(addr) >= 0 }); err != nil {
		stop()
		return "", nil, fmt.Errorf("redis-server did not start: %w", err)
	}
	return addr, stop, nil
}

// redisCommands is the server's total_commands_processed (-1 when it does
// not answer, 0 without Redis).
func redisCommands(addr string) int64 {
	if addr == "" {
		return 0
	}
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return -1
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "INFO stats\r\n"); err != nil {
		return -1
	}
	r := bufio.NewReader(conn)
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		return -1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
			total, _ := strconv.ParseInt(v, 10, 64)
			return total
		}
	}
	return -1
}

// peakRSS is VmHWM of a process: its peak resident memory.
func peakRSS(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "unknown"
}

func waitFor(ok func() bool) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return nil
		}
	}
	return errors.New("timed out")
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
