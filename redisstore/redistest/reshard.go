package redistest

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
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
