package integration

// Load for the failover and resharding tests: workers that keep reading
// and writing through a Caddy instance while Redis changes under it, and
// a record of every request.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadTimeout bounds one request of a load run.
const loadTimeout = 15 * time.Second

// loadRequest is one request of a load run and its answer.
type loadRequest struct {
	op         string // whoami, settings-flow, settings, signup-flow, signup
	start, end time.Time
	status     int   // 0 when there was no answer
	err        error // why there was no answer
	body       []byte
}

// signup is a registration that was answered 200: the session it created
// was acknowledged at acked.
type signup struct {
	email, token string
	acked        time.Time
}

// loadWorker is one worker's identity, its session and what it last
// changed.
type loadWorker struct {
	email, token string
	flow         string    // its API settings flow; "" to start one
	last         string    // name.last of its last acknowledged profile change
	lastAt       time.Time // when that change was acknowledged
}

// loadRun is a running load on one site.
type loadRun struct {
	s       *site
	c       *http.Client
	workers []*loadWorker
	stop    chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	requests []loadRequest
	signups  []signup
}

// startLoad signs up workers identities on s (before the run, failing the
// test if that fails), then starts one goroutine per identity that, until
// stop, asks whoami with its session token, submits a profile change
// (name.last) on its API settings flow and signs a new identity up: reads
// and writes of sessions, identities and flows.
func startLoad(t *testing.T, s *site, workers int) *loadRun {
	t.Helper()
	l := &loadRun{
		s:    s,
		c:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * workers}},
		stop: make(chan struct{}),
	}
	run := time.Now().UnixNano()
	for i := range workers {
		w := &loadWorker{email: fmt.Sprintf("load-%d-%d@example.com", run, i)}
		w.token, _ = registerAPIVia(t, s, l.c, w.email, "a long enough secret")
		l.workers = append(l.workers, w)
	}
	for i, w := range l.workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.work(i, w)
		}()
	}
	return l
}

// work is one worker's loop.
func (l *loadRun) work(i int, w *loadWorker) {
	k := l.s.kratos()
	for n := 0; ; n++ {
		select {
		case <-l.stop:
			return
		default:
		}
		l.send("whoami", "GET", k+"/sessions/whoami", "", w.token)

		if w.flow == "" {
			if r := l.send("settings-flow", "GET", k+"/self-service/settings/api", "", w.token); r.status == http.StatusOK {
				w.flow = jsonField(r.body, "id")
			}
		}
		if w.flow != "" {
			last := fmt.Sprintf("w%d-%d", i, n)
			r := l.send("settings", "POST", k+"/self-service/settings?flow="+w.flow,
				fmt.Sprintf(`{"method":"profile","traits":{"email":%q,"name":{"first":"Grace","last":%q}}}`, w.email, last), w.token)
			switch r.status {
			case http.StatusOK:
				w.last, w.lastAt = last, r.end
			case http.StatusNotFound, http.StatusGone:
				w.flow = "" // lost or expired: start another
			}
		}

		if r := l.send("signup-flow", "GET", k+"/self-service/registration/api", "", ""); r.status == http.StatusOK {
			email := fmt.Sprintf("signup-%d-%d@example.com", time.Now().UnixNano(), i)
			r := l.send("signup", "POST", k+"/self-service/registration?flow="+jsonField(r.body, "id"),
				fmt.Sprintf(`{"method":"password","password":"a long enough secret","traits":{"email":%q}}`, email), "")
			if r.status == http.StatusOK {
				l.mu.Lock()
				l.signups = append(l.signups, signup{email: email, token: jsonField(r.body, "session_token"), acked: r.end})
				l.mu.Unlock()
			}
		}
	}
}

// send sends one JSON request (with the session token, if any) and records
// it.
func (l *loadRun) send(op, method, u, body, token string) loadRequest {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	r := loadRequest{op: op, start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Session-Token", token)
	}
	res, err := l.c.Do(req)
	if err == nil {
		r.body, err = io.ReadAll(res.Body)
		_ = res.Body.Close()
		r.status = res.StatusCode
	}
	r.err, r.end = err, time.Now()
	l.mu.Lock()
	l.requests = append(l.requests, r)
	l.mu.Unlock()
	return r
}

// firstOK returns the end of the first request that started after t and
// succeeded, and whether there is one yet.
func (l *loadRun) firstOK(after time.Time, ops ...string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, r := range l.requests {
		if r.status == http.StatusOK && r.start.After(after) && slices.Contains(ops, r.op) && (first.IsZero() || r.end.Before(first)) {
			first = r.end
		}
	}
	return first, !first.IsZero()
}

// finish stops the workers and returns what they did.
func (l *loadRun) finish() ([]loadRequest, []signup) {
	close(l.stop)
	l.wg.Wait()
	return l.requests, l.signups
}

// tally logs the requests of a run by operation and status.
func tally(t *testing.T, reqs []loadRequest) {
	t.Helper()
	counts := map[string]int{}
	for _, r := range reqs {
		status := fmt.Sprint(r.status)
		if r.err != nil {
			status = "no answer"
		}
		counts[r.op+" "+status]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s: %d;", k, counts[k])
	}
	t.Logf("%d requests:%s", len(reqs), b.String())
}

// stillSignedIn reports, by token, whether whoami on s accepts the
// session, asking again while the answer is 503.
func stillSignedIn(t *testing.T, s *site, tokens []string) map[string]bool {
	t.Helper()
	c := browser(t)
	valid := make(map[string]bool, len(tokens))
	for _, tok := range tokens {
		for try := 0; ; try++ {
			res := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", tok)
			if res.StatusCode == http.StatusServiceUnavailable && try < 20 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("whoami after the run: status %d\n%s", res.StatusCode, res.body)
			}
			valid[tok] = res.StatusCode == http.StatusOK
			break
		}
	}
	return valid
}

// lastNames returns each worker's stored name.last, by whoami.
func lastNames(t *testing.T, s *site, workers []*loadWorker) map[*loadWorker]string {
	t.Helper()
	c := browser(t)
	names := make(map[*loadWorker]string, len(workers))
	for _, w := range workers {
		res := do(t, c, "GET", s.kratos()+"/sessions/whoami", nil, "X-Session-Token", w.token)
		wantStatus(t, res, http.StatusOK)
		names[w], _ = get(res.json(t), "identity", "traits", "name", "last").(string)
	}
	return names
}

// jsonField is a top-level string field of a JSON object, or "".
func jsonField(body []byte, name string) string {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s, _ := m[name].(string)
	return s
}

// isUnavailable reports whether r is a 503 in the Kratos error envelope.
func isUnavailable(r loadRequest) bool {
	var env struct {
		Error struct {
			Code   int    `json:"code"`
			Status string `json:"status"`
		} `json:"error"`
	}
	return r.status == http.StatusServiceUnavailable && json.Unmarshal(r.body, &env) == nil &&
		env.Error.Code == http.StatusServiceUnavailable && env.Error.Status == "Service Unavailable"
}

// ms is d in milliseconds, for the logged measurements.
func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
