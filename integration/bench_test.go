package integration

// Benchmarks of the hot paths through a real in-process Caddy and, for the
// Redis ones, a real redis-server. Run them with `make bench`, or
//
//	go test -run '^$' -bench . -benchtime 2s ./integration/
//
// Each one sends b.N HTTP requests from benchParallelism×GOMAXPROCS
// goroutines over keep-alive connections and checks every answer's status.
// ns/op is wall time divided by requests, so it is 1/throughput, not the
// latency of one request; req/s says the same the other way round. The Go
// client, Caddy and Redis share the machine's cores, so the numbers are a
// floor, not what a dedicated server does. -benchmem's allocs/op count the
// whole process (client and Caddy together), so they say little about the
// handler alone.
// cpu-us/op is the CPU time (user and system) the process spent per request:
// client and Caddy, not redis-server; on a shared machine it moves less
// than req/s.
// redis-cmds/op is the commands the redis-server processed per request
// (INFO stats); a pipeline or a script counts each command it runs, so it
// is an upper bound on round trips.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchParallelism goroutines per GOMAXPROCS send requests: 32 on a 2-core
// machine, as many as the wrk recipe's connections (-c32).
const benchParallelism = 16

func BenchmarkWhoamiRedis(b *testing.B) {
	benchWhoami(b, startSite(b, ""))
}

func BenchmarkWhoamiMemory(b *testing.B) {
	benchWhoami(b, startSiteMemory(b, ""))
}

func benchWhoami(b *testing.B, s *site) {
	c := benchClient(b)
	token, id := benchRegister(b, s, c, benchEmail(0))
	u := s.kratos() + "/sessions/whoami"
	who := do(b, c, "GET", u, nil, "X-Session-Token", token)
	wantStatus(b, who, http.StatusOK)
	if got := get(who.json(b), "identity", "id"); got != id {
		b.Fatalf("whoami answers for identity %v, want %s", got, id)
	}
	senders := make([]func() error, benchWorkers())
	for i := range senders {
		senders[i] = getter(c, u, http.StatusOK, "X-Session-Token", token)
	}
	measure(b, s, senders)
}

// BenchmarkPassThroughRedis is a request for the app with a session:
// identity_headers looks the session up and the app sees the identity.
func BenchmarkPassThroughRedis(b *testing.B) {
	s := startSite(b, "identity_headers")
	c := benchClient(b)
	token, id := benchRegister(b, s, c, benchEmail(0))
	benchPassThrough(b, s, c, id, "X-Session-Token", token)
}

// BenchmarkPassThroughAnonymous is the same request without a session,
// which should cost no store round trip.
func BenchmarkPassThroughAnonymous(b *testing.B) {
	s := startSite(b, "identity_headers")
	benchPassThrough(b, s, benchClient(b), "")
}

func benchPassThrough(b *testing.B, s *site, c *http.Client, id string, header ...string) {
	u := s.public + "/some/page"
	res := do(b, c, "GET", u, nil, header...)
	wantStatus(b, res, http.StatusOK)
	if got, want := string(res.body), "app saw user="+id; got != want {
		b.Fatalf("the app answered %q, want %q", got, want)
	}
	senders := make([]func() error, benchWorkers())
	for i := range senders {
		senders[i] = getter(c, u, http.StatusOK, header...)
	}
	measure(b, s, senders)
}

// BenchmarkSettingsSubmitRedis submits API settings flows that change a
// trait back and forth. Each goroutine has its own identity, session and
// flow, so the submits do not conflict.
func BenchmarkSettingsSubmitRedis(b *testing.B) {
	s := startSite(b, "")
	c := benchClient(b)
	senders := make([]func() error, benchWorkers())
	for i := range senders {
		email := benchEmail(i)
		token, _ := benchRegister(b, s, c, email)
		flow, err := settingsFlowAPI(c, s, token)
		if err != nil {
			b.Fatal(err)
		}
		senders[i] = settingsSubmitter(c, s, token, email, flow)
	}
	measure(b, s, senders)
}

// settingsSubmitter returns a function that submits the profile method on
// flow, with name.first alternating between two values; on 410 (the flow
// expired) it starts a new flow and submits again.
func settingsSubmitter(c *http.Client, s *site, token, email, flow string) func() error {
	var n int
	return func() error {
		n++
		first := [2]string{"Grace", "Gracie"}[n%2]
		for range 2 {
			code, err := submitProfile(c, s, token, email, flow, first)
			switch {
			case err != nil:
				return err
			case code == http.StatusOK:
				return nil
			case code != http.StatusGone:
				return fmt.Errorf("settings submit: status %d, want 200", code)
			}
			if flow, err = settingsFlowAPI(c, s, token); err != nil {
				return err
			}
		}
		return fmt.Errorf("settings submit: status 410 on a new flow")
	}
}

// submitProfile submits the profile method of a settings flow with this
// email and first name, and returns the status.
func submitProfile(c *http.Client, s *site, token, email, flow, first string) (int, error) {
	body := fmt.Sprintf(`{"method":"profile","traits":{"email":%q,"name":{"first":%q,"last":"Hopper"}}}`, email, first)
	req, err := http.NewRequest("POST", s.kratos()+"/self-service/settings?flow="+flow, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Session-Token", token)
	return send(c, req)
}

// settingsFlowAPI starts an API settings flow and returns its id.
func settingsFlowAPI(c *http.Client, s *site, token string) (string, error) {
	req, err := http.NewRequest("GET", s.kratos()+"/self-service/settings/api", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Session-Token", token)
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("new settings flow: status %d\n%s", res.StatusCode, raw)
	}
	var flow struct{ ID string }
	if err := json.Unmarshal(raw, &flow); err != nil || flow.ID == "" {
		return "", fmt.Errorf("new settings flow without id: %s", raw)
	}
	return flow.ID, nil
}

// measure runs b.N calls of the senders, one goroutine each (there are
// benchWorkers of them), and reports req/s and, with Redis, the Redis
// commands per request. Any error fails the benchmark.
func measure(b *testing.B, s *site, senders []func() error) {
	if len(senders) != benchWorkers() {
		b.Fatalf("%d senders for %d goroutines", len(senders), benchWorkers())
	}
	var next atomic.Int64
	b.SetParallelism(benchParallelism)
	cmds := redisCommands(b, s)
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		send := senders[next.Add(1)-1]
		for pb.Next() {
			if err := send(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-us/op")
	if s.redis != "" {
		// -1: the first INFO is counted in the second's total.
		b.ReportMetric(float64(redisCommands(b, s)-cmds-1)/float64(b.N), "redis-cmds/op")
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchWorkers is the number of goroutines RunParallel starts.
func benchWorkers() int { return benchParallelism * runtime.GOMAXPROCS(0) }

// benchClient is a client with enough idle connections for every goroutine,
// which does not follow redirects.
func benchClient(b *testing.B) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * benchWorkers()
	tr.MaxIdleConnsPerHost = 2 * benchWorkers()
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// getter returns a function that sends one GET with these headers and
// checks the status. The request is reused: one getter per goroutine.
func getter(c *http.Client, u string, want int, header ...string) func() error {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		panic(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return func() error {
		code, err := send(c, req)
		if err == nil && code != want {
			err = fmt.Errorf("GET %s: status %d, want %d", u, code, want)
		}
		return err
	}
}

// send sends req and reads the whole body, so the connection is reused.
func send(c *http.Client, req *http.Request) (int, error) {
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, err
}

var benchRun atomic.Int64

// benchEmail is an address no earlier run used: the memory store keeps the
// identities of every earlier run of the process.
func benchEmail(i int) string {
	return fmt.Sprintf("bench%d-%d-%d@example.com", time.Now().UnixNano(), benchRun.Add(1), i)
}

// benchRegister signs up through the API flow and returns the session
// token and the identity id.
func benchRegister(b *testing.B, s *site, c *http.Client, email string) (token, id string) {
	b.Helper()
	return registerAPIVia(b, s, c, email, "a long enough secret")
}

// redisCommands is the redis-server's total_commands_processed; 0 with the
// memory store.
func redisCommands(b *testing.B, s *site) int64 {
	if s.redis == "" {
		return 0
	}
	return redisInfoInt(b, s, "stats", "total_commands_processed")
}
