package integration

// BenchmarkFlowMemory measures what anonymous flows cost the store: the
// Redis memory (INFO memory's used_memory) and the memory store's Go heap
// (runtime.ReadMemStats after a GC) that -memory-flows (100,000) flow inits
// add, per flow, while the flows live and once they have expired. Run it
// with `make bench-memory`, or
//
//	go test -run '^$' -bench FlowMemory -benchtime 1x -timeout 30m ./integration/
//
// Each figure comes from a fresh site: "live" with flow_lifespan 1h, read
// once every init has been answered; "expired" with flow_lifespan 1s, read
// once the last flow expired (Redis: after a SCAN, which removes every
// expired key; the memory store: after its clock moved past the sweep
// interval and a write swept). The work is fixed, whatever b.N is.

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed06f30684/caddy-kratos/caddymodule"
)

// memoryClockRestores take back sweepMemoryStore's moves of the clock.
var memoryClockRestores []func()

var memoryFlows = flag.Int("memory-flows", 100_000, "flow inits per BenchmarkFlowMemory figure")

func BenchmarkFlowMemory(b *testing.B) {
	// Redis first: the memory store's figures move the clock on for good
	// (sweepMemoryStore), which would move the Redis flows' expiry too.
	b.Cleanup(func() {
		for _, restore := range memoryClockRestores {
			restore()
		}
		memoryClockRestores = nil
	})
	for _, store := range []string{"Redis", "Memory"} {
		for _, kind := range []string{"login/api", "registration/api", "login/browser", "registration/browser"} {
			b.Run(store+"/"+kind, func(b *testing.B) {
				for _, phase := range []string{"live", "expired"} {
					perFlow := flowMemory(b, kind, store == "Redis", phase == "expired")
					b.ReportMetric(perFlow, phase+"-B/flow")
				}
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// initStatus is the answer to an anonymous flow init: 200 with the flow
// for an API init, 303 to the UI (and a new CSRF cookie: the client keeps
// none, so each init is a new browser) for a browser one.
func initStatus(u string) int {
	if strings.HasSuffix(u, "/browser") {
		return http.StatusSeeOther
	}
	return http.StatusOK
}

// flowMemory starts a site, sends *memoryFlows inits of kind ("login/api",
// "registration/browser", …) and returns the memory they hold per flow,
// live or once expired.
func flowMemory(b *testing.B, kind string, redis, expired bool) float64 {
	lifespan := "flow_lifespan 1h"
	if expired {
		lifespan = "flow_lifespan 1s"
	}
	var s *site
	if redis {
		s = startSite(b, lifespan)
	} else {
		s = startSiteMemory(b, lifespan)
	}
	c := benchClient(b)
	u := s.kratos() + "/self-service/" + kind
	wantStatus(b, do(b, c, "GET", u, nil), initStatus(u)) // connections, scripts, maps: not per flow
	if !redis {
		// The memory store is the process's, earlier figures' flows
		// included: let them go first.
		sweepMemoryStore(b, c, u, 48*time.Hour)
	}
	before := storeMemory(b, s)
	initFlows(b, c, u, *memoryFlows)
	if expired {
		time.Sleep(2 * time.Second) // past the last flow's expiry, on Redis' clock too
		if redis {
			expireRedisKeys(b, s)
			time.Sleep(time.Second) // Redis' cron shrinks its key tables
		} else {
			sweepMemoryStore(b, c, u, 2*time.Minute)
		}
	}
	after := storeMemory(b, s)
	b.Logf("%s, redis=%v, expired=%v: %d flows, %d → %d bytes", kind, redis, expired, *memoryFlows, before, after)
	return float64(after-before) / float64(*memoryFlows)
}

// sweepMemoryStore moves the clock of the memory store (the process's)
// on by d and writes (a flow init, GET u), so that the store sweeps out
// what expired: it sweeps on a write once a minute of its clock has
// passed. The clock stays moved: moved back, the store's last sweep would
// lie ahead of it and hold off the next. It goes back when the benchmark
// ends.
func sweepMemoryStore(b *testing.B, c *http.Client, u string, d time.Duration) {
	restore := caddymodule.AdvanceClockForTest(d)
	memoryClockRestores = append(memoryClockRestores, restore)
	wantStatus(b, do(b, c, "GET", u, nil), initStatus(u))
}

// initFlows sends n GETs of u, from benchWorkers goroutines, each answered 200.
func initFlows(b *testing.B, c *http.Client, u string, n int) {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for range benchWorkers() {
		wg.Go(func() {
			send := getter(c, u, initStatus(u))
			for left.Add(-1) >= 0 {
				if err := send(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// storeMemory is the memory the site's store holds: Redis' used_memory, or
// the Go heap in use after a garbage collection for the memory store.
func storeMemory(b *testing.B, s *site) int64 {
	if s.redis == "" {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	return redisInfoInt(b, s, "memory", "used_memory")
}

// expireRedisKeys SCANs the whole key space: Redis removes each expired key
// the scan meets, as a read would, rather than over the next seconds.
func expireRedisKeys(b *testing.B, s *site) {
	cursor := "0"
	for {
		reply := redisCommand(b, s, "SCAN", cursor, "COUNT", "1000")
		cursor = reply[0]
		if cursor == "0" {
			return
		}
	}
}

// redisInfoInt is one integer field of a section of the redis-server's INFO.
func redisInfoInt(b *testing.B, s *site, section, field string) int64 {
	info := redisCommand(b, s, "INFO", section)[0]
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("INFO %s has no %s:\n%s", section, field, info)
	return 0
}

// redisCommand sends one command to the site's redis-server and returns its
// reply's bulk strings (one for a bulk reply; for an array, the bulk strings
// of its first level and of nested arrays in order).
func redisCommand(b *testing.B, s *site, args ...string) []string {
	conn, err := net.DialTimeout("tcp", s.redis, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var cmd strings.Builder
	fmt.Fprintf(&cmd, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&cmd, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(cmd.String())); err != nil {
		b.Fatal(err)
	}
	var out []string
	if err := readRESP(newRESPReader(conn), &out); err != nil {
		b.Fatalf("%s: %v", args[0], err)
	}
	return out
}

func newRESPReader(conn net.Conn) *bufio.Reader { return bufio.NewReaderSize(conn, 1<<16) }

// readRESP reads one RESP2 reply, appending its bulk strings to out; an
// error reply is an error.
func readRESP(r *bufio.Reader, out *[]string) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return fmt.Errorf("empty reply line")
	}
	switch line[0] {
	case '-':
		return fmt.Errorf("redis: %s", line[1:])
	case '+', ':':
		*out = append(*out, line[1:])
		return nil
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		*out = append(*out, string(buf[:n]))
		return nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return err
		}
		for range n {
			if err := readRESP(r, out); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected reply %q", line)
}
