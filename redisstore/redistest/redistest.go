// Package redistest starts real redis-server processes for tests: one server
// (which a test may stop and restart), a cluster, or a Sentinel group
// (sentinel.go), each on free loopback ports, stopped when the test ends.
//
// Without the redis-server (or redis-cli, redis-sentinel) binary the test is skipped, unless
// the environment variable CI is set: then it fails, so CI really runs them.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTimeout bounds how long a server or a cluster may take to come up.
const startTimeout = 20 * time.Second

// StartServer starts a redis-server on a free loopback port and returns its
// address. It is killed when the test ends.
func StartServer(t testing.TB) (addr string) {
	t.Helper()
	return StartStoppable(t).Addr
}

// Server is a redis-server that a test can stop and start again on the same
// address, to see what happens while Redis is down. It is not safe for
// concurrent use: call Stop and Restart from the test's goroutine.
type Server struct {
	Addr string // 127.0.0.1:<port>, the same after a Restart

	t    testing.TB
	bin  string
	port int
	dir  string   // the data dir, kept across restarts
	proc *process // nil while stopped
}

// StartStoppable starts a redis-server on a free loopback port, like
// StartServer, and returns it for Stop and Restart. It is killed when the
// test ends.
func StartStoppable(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: binary(t, "redis-server")}
	var lastErr error
	for range 3 { // a port found free may be taken before the server binds it
		port, err := freePort(false)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.port, s.dir = port, t.TempDir()
		if s.proc, lastErr = launch(s.bin, s.port, s.dir); lastErr == nil {
			s.Addr = s.proc.addr
			t.Cleanup(func() {
				if s.proc != nil {
					s.proc.kill()
				}
			})
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// Stop saves the data to the data dir (SAVE, an RDB snapshot), then kills
// the server (SIGKILL, as in a crash) and waits until the process has exited
// and its port is closed. Clients see their connections drop and new ones
// refused. Saving first lets a test check, after Restart, that sessions
// made before the outage work again, as they would with a production Redis
// that persists its data; --save "" still keeps Redis from snapshotting on
// its own.
func (s *Server) Stop() {
	s.t.Helper()
	if s.proc == nil {
		s.t.Fatalf("redistest: Stop: the server on %s is not running", s.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if answer, err := ask(ctx, s.Addr, "SAVE"); err != nil || !strings.HasPrefix(answer, "+OK") {
		s.t.Fatalf("redistest: SAVE on %s: %q, %v", s.Addr, strings.TrimSpace(answer), err)
	}
	s.proc.kill()
	s.proc = nil
	if conn, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		_ = conn.Close()
		s.t.Fatalf("redistest: %s still accepts connections after the server exited", s.Addr)
	}
}

// Restart starts the stopped server again on the same address and data
// dir, with the data saved by Stop, and waits until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	if s.proc != nil {
		s.t.Fatalf("redistest: Restart: the server on %s is running; Stop it first", s.Addr)
	}
	var err error
	for range 5 { // the port may take a moment to be free for binding again
		if s.proc, err = launch(s.bin, s.port, s.dir); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart: %v", err)
}

// StartCluster starts a cluster of masters redis-server nodes (at least 3,
// without replicas) on free loopback ports, waits until every node reports
// cluster_state:ok, and returns the nodes' addresses. They are killed when
// the test ends.
func StartCluster(t testing.TB, masters int) (addrs []string) {
	t.Helper()
	if masters < 3 {
		t.Fatalf("redistest: a cluster needs at least 3 masters, not %d", masters)
	}
	server := binary(t, "redis-server")
	cli := binary(t, "redis-cli")
	for tries := 0; len(addrs) < masters; tries++ {
		if tries == 3*masters {
			t.Fatalf("redistest: could not start %d cluster nodes", masters)
		}
		port, err := freePort(true)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		dir := t.TempDir()
		addr, err := start(t, server, port, dir,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "5000")
		if err != nil {
			t.Logf("redistest: %v; trying another port", err)
			continue
		}
		addrs = append(addrs, addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range addrs {
		if err := waitFor(ctx, addr, "CLUSTER INFO", "cluster_state:ok", nil); err != nil {
			t.Fatalf("redistest: cluster node %s: %v", addr, err)
		}
	}
	return addrs
}

// binary returns the path of a Redis program, or ends the test without it.
func binary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "" {
		t.Skipf("redistest: %s not installed (Debian packages redis-server, redis-tools, redis-sentinel)", name)
	}
	t.Fatalf("redistest: %s not installed, and CI must run the Redis tests: %v", name, err)
	return ""
}

// process is a running redis-server.
type process struct {
	addr   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
}

// kill kills the process and waits until it has exited.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// start runs redis-server on port with its files in dir and waits until it
// answers PING. The process is killed when the test ends.
func start(t testing.TB, bin string, port int, dir string, extra ...string) (string, error) {
	p, err := launch(bin, port, dir, extra...)
	if err != nil {
		return "", err
	}
	t.Cleanup(p.kill)
	return p.addr, nil
}

// launch runs redis-server on port with its files in dir and waits until it
// answers PING. The caller kills it.
func launch(bin string, port int, dir string, extra ...string) (*process, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logFile := filepath.Join(dir, "redis.log")
	args := append([]string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", logFile,
	}, extra...)
	return run(bin, args, addr, logFile)
}

// run starts bin with args, which make it listen on addr and log to
// logFile, and waits until it answers PING there. The caller kills it.
func run(bin string, args []string, addr, logFile string) (*process, error) {
	p := &process{addr: addr, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := waitFor(ctx, addr, "PING", "PONG", p.exited); err != nil {
		p.kill()
		log, _ := os.ReadFile(logFile)
		return nil, fmt.Errorf("%s on %s: %w\n%s", filepath.Base(bin), addr, err, log)
	}
	return p, nil
}

// waitFor sends an inline command to addr until the answer contains want,
// the process exits (exited closed) or ctx ends.
func waitFor(ctx context.Context, addr, command, want string, exited <-chan struct{}) error {
	var last error
	for {
		answer, err := ask(ctx, addr, command)
		if err == nil && strings.Contains(answer, want) {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("%s answered %q", command, strings.TrimSpace(answer))
		}
		select {
		case <-exited:
			return errors.New("the server exited")
		case <-ctx.Done():
			return fmt.Errorf("not ready in %s: %w", startTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ask sends one inline command and returns the first reply, a status line
// or a bulk string.
func ask(ctx context.Context, addr, command string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte(command + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "$") {
		return line, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 0 {
		return line, nil
	}
	body := make([]byte, n+2)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return string(body[:n]), nil
}

// freePort returns a loopback port nobody listens on; with bus, port+10000
// (a cluster node's bus port) is free too.
func freePort(bus bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !bus {
			_ = l.Close()
			return port, nil
		}
		if port+10000 <= 65535 {
			if b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000))); err == nil {
				_ = b.Close()
				_ = l.Close()
				return port, nil
			}
		}
		_ = l.Close()
	}
	return 0, errors.New("no free port pair for a cluster node")
}
