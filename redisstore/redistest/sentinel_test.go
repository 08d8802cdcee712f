package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// A client that asks the sentinels finds the master, and after a failover
// and the old master's death, the new one, with what was replicated.
func TestStartSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Sentinel group; skipped with -short")
	}
	s := redistest.StartSentinel(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.SentinelMaster, SentinelAddrs: s.Sentinels})
	defer c.Close()
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.WaitReplicated()

	old, promoted, _ := s.Failover()
	if promoted == old || s.Master() != promoted {
		t.Fatalf("failover from %s: sentinels name %s, Failover said %s", old, s.Master(), promoted)
	}
	s.Kill(old)
	var got string
	for {
		v, err := c.Get(ctx, "k").Result()
		if err == nil {
			got = v
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no answer from the new master: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != "before" {
		t.Fatalf("after the failover k = %q, want %q", got, "before")
	}
	if err := c.Set(ctx, "k", "after", 0).Err(); err != nil {
		t.Fatalf("write to the new master: %v", err)
	}
}
