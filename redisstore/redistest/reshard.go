package redistest

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// reshardTimeout bounds one Reshard.
const reshardTimeout = 2 * time.Minute

// Reshard moves slots hash slots, with their keys, from the cluster node at
// from to the one at to (addresses from StartCluster), as an operator
// would: redis-cli --cluster reshard, which migrates slot by slot
// (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE), so clients
// see ASK and MOVED redirects meanwhile. It returns when every slot has
// moved.
func Reshard(t testing.TB, from, to string, slots int) {
	t.Helper()
	cli := binary(t, "redis-cli")
	ctx, cancel := context.WithTimeout(context.Background(), reshardTimeout)
	defer cancel()
	fromID, toID := nodeID(ctx, t, from), nodeID(ctx, t, to)
	out, err := exec.CommandContext(ctx, cli, "--cluster", "reshard", from,
		"--cluster-from", fromID, "--cluster-to", toID,
		"--cluster-slots", strconv.Itoa(slots), "--cluster-yes").CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster reshard %s to %s: %v\n%s", from, to, err, out)
	}
	if err := waitFor(ctx, from, "CLUSTER INFO", "cluster_state:ok", nil); err != nil {
		t.Fatalf("redistest: after resharding: %v", err)
	}
}

// nodeID returns the cluster node id of the node at addr.
func nodeID(ctx context.Context, t testing.TB, addr string) string {
	t.Helper()
	id, err := ask(ctx, addr, "CLUSTER MYID")
	id = strings.TrimSpace(id)
	if err != nil || len(id) != 40 {
		t.Fatalf("redistest: CLUSTER MYID on %s: %q, %v", addr, id, err)
	}
	return id
}

// MoveSlot moves one hash slot of the cluster whose nodes are at nodes
// (from StartCluster) to another node, the way redis-cli --cluster reshard
// moves each slot, but holds it open for hold after its keys have moved:
// while a big slot migrates, clients get ASK redirects for the keys already
// moved and for new keys, and this makes that window long enough for a
// load to run into it. It returns the slot's old and new owners.
func MoveSlot(t testing.TB, nodes []string, slot int, hold time.Duration) (from, to string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), reshardTimeout)
	defer cancel()
	clients := make(map[string]*redis.Client, len(nodes))
	ids := make(map[string]string, len(nodes))
	for _, addr := range nodes {
		clients[addr] = redis.NewClient(&redis.Options{Addr: addr})
		defer clients[addr].Close()
		ids[addr] = nodeID(ctx, t, addr)
	}
	shards, err := clients[nodes[0]].ClusterShards(ctx).Result()
	if err != nil {
		t.Fatalf("redistest: CLUSTER SHARDS: %v", err)
	}
	for _, shard := range shards {
		for _, r := range shard.Slots {
			if r.Start > int64(slot) || int64(slot) > r.End {
				continue
			}
			for _, n := range shard.Nodes {
				if n.Role == "master" {
					from = net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
				}
			}
		}
	}
	if clients[from] == nil {
		t.Fatalf("redistest: slot %d is served by %q, not one of %v", slot, from, nodes)
	}
	for _, addr := range nodes {
		if addr != from {
			to = addr
			break
		}
	}
	src, dst := clients[from], clients[to]
	host, port, _ := net.SplitHostPort(to)
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("redistest: moving slot %d from %s to %s: %s: %v", slot, from, to, what, err)
		}
	}
	must("SETSLOT IMPORTING", dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[from]).Err())
	must("SETSLOT MIGRATING", src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[to]).Err())
	migrate := func() {
		for {
			keys, err := src.ClusterGetKeysInSlot(ctx, slot, 100).Result()
			must("GETKEYSINSLOT", err)
			if len(keys) == 0 {
				return
			}
			args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
			for _, k := range keys {
				args = append(args, k)
			}
			must("MIGRATE", src.Do(ctx, args...).Err())
		}
	}
	migrate()
	time.Sleep(hold)
	migrate() // keys written to the source meanwhile, if any
	// The new owner first, then the old one, then the others.
	must("SETSLOT NODE", dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", ids[to]).Err())
	must("SETSLOT NODE", src.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", ids[to]).Err())
	for _, addr := range nodes {
		if addr != from && addr != to {
			must("SETSLOT NODE", clients[addr].Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", ids[to]).Err())
		}
	}
	return from, to
}
