package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bounds of Options.WaitTimeout. The wait must end well within the
// client's read timeout, or the client would give up on the connection
// first.
const (
	DefaultWaitTimeout = 100 * time.Millisecond
	MaxWaitTimeout     = time.Second
)

// setWait checks and sets the WAIT options.
func (t *target) setWait(replicas int, timeout time.Duration) error {
	switch {
	case replicas < 0:
		return fmt.Errorf("redis: wait_replicas %d is negative", replicas)
	case replicas == 0 && timeout != 0:
		return errors.New("redis: wait_timeout without wait_replicas")
	case replicas == 0:
		return nil
	case t.mode == modeCluster:
		// WAIT answers for the replicas of the node it is sent to, and a
		// cluster client sends a command without keys to any node.
		return errors.New("redis: wait_replicas is for one server or a Sentinel group, not a cluster")
	case timeout < 0 || timeout > MaxWaitTimeout:
		return fmt.Errorf("redis: wait_timeout %s is not between 0 and %s", timeout, MaxWaitTimeout)
	case timeout == 0:
		timeout = DefaultWaitTimeout
	}
	t.waitReplicas, t.waitTimeout = replicas, timeout
	return nil
}

// errNotReplicated is the error of a write that too few replicas
// acknowledged in time. The master may keep the write, and a failover may
// lose it, but it was never reported as done.
var errNotReplicated = errors.New("too few replicas acknowledged the write in time (wait_replicas)")

// waitHook makes every write wait for replicas (Redis WAIT): it sends each
// write, or each pipeline with a write, followed by WAIT on the same
// connection, as WAIT counts the acknowledgements of its own connection's
// writes. A write fewer replicas acknowledge within timeout gets
// errNotReplicated. Reads go as they are. (The store uses no MULTI
// transactions; they would be sent as they are too.)
type waitHook struct {
	client   redis.UniversalClient // to send a single write as a pipeline
	replicas int
	timeout  time.Duration
}

func (h waitHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h waitHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isWrite(cmd) {
			return next(ctx, cmd)
		}
		_, _ = h.client.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Process(ctx, cmd) })
		return cmd.Err()
	}
}

func (h waitHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 || cmds[0].Name() == "multi" || !slices.ContainsFunc(cmds, isWrite) {
			return next(ctx, cmds)
		}
		wait := redis.NewIntCmd(ctx, "WAIT", h.replicas, h.timeout.Milliseconds())
		err := next(ctx, append(cmds[:len(cmds):len(cmds)], wait))
		acked, werr := wait.Result()
		if werr == nil && acked < int64(h.replicas) {
			werr = fmt.Errorf("%w: %d of %d in %s", errNotReplicated, acked, h.replicas, h.timeout)
		}
		if werr == nil {
			return err
		}
		for _, c := range cmds {
			if isWrite(c) && c.Err() == nil {
				c.SetErr(werr)
			}
		}
		if err == nil {
			err = werr
		}
		return err
	}
}

// readScripts are the scripts of the read paths (whoami and the session
// lists): they go without WAIT, which would slow the hot path. Their
// tidying of expired members is housekeeping that a failover may lose.
var readScripts = scriptHashes(getSessionScript, getSessionByIDScript, listSessionsScript)

func scriptHashes(scripts ...*redis.Script) map[string]bool {
	m := make(map[string]bool, len(scripts))
	for _, s := range scripts {
		m[s.Hash()] = true
	}
	return m
}

// isWrite reports whether cmd may write: anything but the reads the store
// and its client send. A command added to the store later counts as a
// write until it is listed here.
func isWrite(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "get", "mget", "exists", "pttl", "ttl", "zrange", "zrangebylex", "zrangebyscore", "zscore", "zcard",
		"evalsha_ro", "eval_ro", "script", "ping", "wait", "info", "time",
		"hello", "auth", "select", "client", "readonly", "command":
		return false
	case "evalsha":
		sha, _ := cmdArg(cmd, 1)
		return !readScripts[sha]
	case "eval":
		src, _ := cmdArg(cmd, 1)
		sum := sha1.Sum([]byte(src))
		return !readScripts[hex.EncodeToString(sum[:])]
	}
	return true
}

// cmdArg is the i-th argument of cmd as a string.
func cmdArg(cmd redis.Cmder, i int) (string, bool) {
	args := cmd.Args()
	if i >= len(args) {
		return "", false
	}
	s, ok := args[i].(string)
	return s, ok
}
