package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the master name a Sentinel group from StartSentinel
// monitors.
const SentinelMaster = "mymaster"

// Sentinel timings: short, so a test sees a failover in seconds. A master
// that does not answer for SentinelDownAfter is subjectively down; with two
// sentinels agreeing (the quorum) a failover starts.
const (
	SentinelDownAfter       = time.Second
	sentinelFailoverTimeout = 5 * time.Second
	sentinelQuorum          = 2
	sentinelCount           = 3
)

// Sentinel is a Sentinel group on loopback: a master, its replicas and three
// redis-sentinel processes (quorum 2) watching them. Everything is killed
// when the test ends. It is not safe for concurrent use: call its methods
// from the test's goroutine.
type Sentinel struct {
	Sentinels []string // the sentinels' addresses

	t     testing.TB
	nodes map[string]*process // the redis-servers by address, until killed
}

// StartSentinel starts a master, replicas (at least 1) replicas of it and
// three sentinels, each on a free loopback port, and waits until the
// replicas are in sync and every sentinel knows them and the two other
// sentinels. A test's client finds the master through the sentinels under
// SentinelMaster.
//
// Without the redis-server or redis-sentinel binary (Debian packages
// redis-server, redis-sentinel) the test is skipped, unless CI is set.
func StartSentinel(t testing.TB, replicas int) *Sentinel {
	t.Helper()
	if replicas < 1 {
		t.Fatalf("redistest: a Sentinel group needs a replica to fail over to, not %d", replicas)
	}
	server := binary(t, "redis-server")
	sentinel := binary(t, "redis-sentinel")
	s := &Sentinel{t: t, nodes: make(map[string]*process)}

	// No delay before a full sync (the default waits 5 s for more
	// replicas), on every node as any may become the master.
	master := s.startNode(server, "--repl-diskless-sync-delay", "0")
	host, port, _ := net.SplitHostPort(master)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for range replicas {
		replica := s.startNode(server, "--repl-diskless-sync-delay", "0", "--replicaof", host, port)
		if err := waitFor(ctx, replica, "INFO replication", "master_link_status:up", nil); err != nil {
			t.Fatalf("redistest: replica %s of %s: %v", replica, master, err)
		}
	}

	for tries := 0; len(s.Sentinels) < sentinelCount; tries++ {
		if tries == 3*sentinelCount {
			t.Fatalf("redistest: could not start %d sentinels", sentinelCount)
		}
		p, err := launchSentinel(sentinel, master)
		if err != nil {
			t.Logf("redistest: %v; trying another port", err)
			continue
		}
		t.Cleanup(p.kill)
		s.Sentinels = append(s.Sentinels, p.addr)
	}

	// Sentinels find each other through hello messages on the master,
	// every 2 s; the replica from the master's INFO.
	for _, addr := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: addr})
		err := poll(ctx, func() error {
			m, err := c.Master(ctx, SentinelMaster).Result()
			if err != nil {
				return err
			}
			if m["num-other-sentinels"] != strconv.Itoa(sentinelCount-1) || m["num-slaves"] != strconv.Itoa(replicas) {
				return fmt.Errorf("knows %s other sentinels and %s replicas", m["num-other-sentinels"], m["num-slaves"])
			}
			return nil
		})
		_ = c.Close()
		if err != nil {
			t.Fatalf("redistest: sentinel %s: %v", addr, err)
		}
	}
	return s
}

// startNode starts a redis-server with extra arguments on a free port and
// returns its address; it is killed when the test ends, or by Kill.
func (s *Sentinel) startNode(bin string, extra ...string) string {
	s.t.Helper()
	var lastErr error
	for range 3 { // a port found free may be taken before the server binds it
		port, err := freePort(false)
		if err != nil {
			s.t.Fatalf("redistest: %v", err)
		}
		p, err := launch(bin, port, s.t.TempDir(), extra...)
		if err != nil {
			lastErr = err
			continue
		}
		s.t.Cleanup(p.kill)
		s.nodes[p.addr] = p
		return p.addr
	}
	s.t.Fatalf("redistest: %v", lastErr)
	return ""
}

// launchSentinel starts a sentinel on a free port watching master. The
// caller kills it.
func launchSentinel(bin, master string) (*process, error) {
	port, err := freePort(false)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-sentinel-")
	if err != nil {
		return nil, err
	}
	host, masterPort, _ := net.SplitHostPort(master)
	logFile := filepath.Join(dir, "sentinel.log")
	conf := filepath.Join(dir, "sentinel.conf") // a sentinel rewrites its config file
	config := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile %s
sentinel monitor %s %s %s %d
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s %d
sentinel parallel-syncs %s 1
`, port, dir, logFile,
		SentinelMaster, host, masterPort, sentinelQuorum,
		SentinelMaster, SentinelDownAfter.Milliseconds(),
		SentinelMaster, sentinelFailoverTimeout.Milliseconds(),
		SentinelMaster)
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		return nil, err
	}
	p, err := run(bin, []string{conf}, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), logFile)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	go func() {
		<-p.exited
		_ = os.RemoveAll(dir)
	}()
	return p, nil
}

// Master returns the master's address as the first sentinel names it.
func (s *Sentinel) Master() string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	addr, err := s.masterOf(ctx, s.Sentinels[0])
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	return addr
}

// masterOf asks one sentinel for the master's address.
func (s *Sentinel) masterOf(ctx context.Context, sentinel string) (string, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: sentinel})
	defer c.Close()
	hp, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
	if err != nil {
		return "", fmt.Errorf("sentinel %s: get-master-addr-by-name: %w", sentinel, err)
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("sentinel %s: get-master-addr-by-name answered %q", sentinel, hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// WaitReplicated returns once the replicas have everything written to the
// master so far: it writes a key of its own and waits (WAIT) until every
// replica acknowledges it, which each can only do in replication order.
func (s *Sentinel) WaitReplicated() {
	s.t.Helper()
	replicas := len(s.nodes) - 1
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: s.Master()})
	defer c.Close()
	conn := c.Conn() // WAIT waits for this connection's writes
	defer conn.Close()
	if err := conn.Set(ctx, "redistest:replicated", time.Now().UnixNano(), 0).Err(); err != nil {
		s.t.Fatalf("redistest: SET on the master: %v", err)
	}
	acked, err := conn.Do(ctx, "WAIT", replicas, startTimeout.Milliseconds()).Int()
	if err != nil || acked < replicas {
		s.t.Fatalf("redistest: WAIT %d on the master: %d replicas, %v", replicas, acked, err)
	}
}

// Failover makes a sentinel fail the master over to a replica (SENTINEL
// FAILOVER, which needs no agreement and does not wait for the replica to
// catch up), then waits as AwaitNewMaster does. It returns the old and new
// masters' addresses and when a sentinel first named the new master. The
// sentinels turn the old master into a replica of the new one; Kill it to
// lose it.
func (s *Sentinel) Failover() (old, promoted string, at time.Time) {
	s.t.Helper()
	old = s.Master()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer c.Close()
	if err := c.Failover(ctx, SentinelMaster).Err(); err != nil {
		s.t.Fatalf("redistest: SENTINEL FAILOVER: %v", err)
	}
	promoted, at = s.AwaitNewMaster(old)
	return old, promoted, at
}

// AwaitNewMaster waits until every sentinel names a master other than old,
// the same one, and it answers as a master. It returns that master's
// address and when a sentinel first named it: from then on clients that
// ask the sentinels are sent to it. After Kill of the master, the
// sentinels need SentinelDownAfter to agree that it is down, then elect a
// leader that promotes the replica.
func (s *Sentinel) AwaitNewMaster(old string) (promoted string, at time.Time) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	err := poll(ctx, func() error {
		for _, addr := range s.Sentinels {
			m, err := s.masterOf(ctx, addr)
			if err != nil {
				return err
			}
			if m == old {
				return fmt.Errorf("sentinel %s still names %s", addr, old)
			}
			if promoted == "" {
				promoted, at = m, time.Now()
			}
			if m != promoted {
				return fmt.Errorf("sentinel %s names %s, another names %s", addr, m, promoted)
			}
		}
		return nil
	})
	if err != nil {
		s.t.Fatalf("redistest: failover from %s: %v", old, err)
	}
	if err := waitFor(ctx, promoted, "INFO replication", "role:master", nil); err != nil {
		s.t.Fatalf("redistest: the new master %s: %v", promoted, err)
	}
	return promoted, at
}

// Kill kills the redis-server at addr (SIGKILL, as in a crash) and waits
// until it has exited.
func (s *Sentinel) Kill(addr string) {
	s.t.Helper()
	p, ok := s.nodes[addr]
	if !ok {
		s.t.Fatalf("redistest: Kill: no running redis-server of this group at %s", addr)
	}
	p.kill()
	delete(s.nodes, addr)
}

// poll calls check every 10 ms until it returns nil or ctx ends.
func poll(ctx context.Context, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready in time: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
