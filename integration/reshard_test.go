package integration

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

// reshardSlots is how many hash slots each of the three reshardings
// moves, around the three nodes: about 2 s each on a busy machine. (A node
// that gives away all its slots becomes a replica, so each keeps some.)
// They rarely catch a request in a slot that is half-way, so the test then
// moves the slots of two workers' records with a hold half-way.
const (
	reshardSlots = 500
	slotHold     = time.Second
)

// Moving slots between Redis Cluster nodes (redis-cli --cluster reshard,
// and slots held open half-way) under load costs no request: go-redis
// follows the MOVED and ASK redirects, and every session made before or
// during it stays valid, every acknowledged change stays.
func TestReshardUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Caddy and starts a Redis Cluster; skipped with -short")
	}
	nodes := redistest.StartCluster(t, 3)
	store := fmt.Sprintf("redis {\n\t\t\taddrs %s\n\t\t\tkey_prefix rs%d\n\t\t}", strings.Join(nodes, " "), time.Now().UnixNano())
	s := startInstance(t, "cluster", store, "").site(t)

	var before []string // sessions made before the resharding
	for i := range 20 {
		tok, _ := registerAPIVia(t, s, browser(t), fmt.Sprintf("before-%d-%d@example.com", time.Now().UnixNano(), i), "a long enough secret")
		before = append(before, tok)
	}
	load := startLoad(t, s, 4)
	time.Sleep(500 * time.Millisecond) // load before the resharding
	for _, move := range [][2]string{{nodes[0], nodes[1]}, {nodes[1], nodes[2]}, {nodes[2], nodes[0]}} {
		start := time.Now()
		redistest.Reshard(t, move[0], move[1], reshardSlots)
		t.Logf("moved %d slots from %s to %s in %s", reshardSlots, move[0], move[1], ms(time.Since(start)))
	}
	for _, w := range load.workers[:2] {
		slot := keySlot(t, nodes[0], "{"+identity.RoutingKey(w.token)+"}")
		from, to := redistest.MoveSlot(t, nodes, slot, slotHold)
		t.Logf("moved slot %d, a worker's records, from %s to %s, held open %s", slot, from, to, slotHold)
	}
	time.Sleep(500 * time.Millisecond) // load after it
	reqs, signups := load.finish()
	tally(t, reqs)
	t.Logf("redirects answered by the nodes (INFO errorstats): %v", redirects(t, nodes))

	for _, r := range reqs {
		if r.status != http.StatusOK {
			t.Errorf("%s during the resharding: status %d, %v\n%s", r.op, r.status, r.err, r.body)
		}
	}
	tokens := append([]string(nil), before...)
	for _, sg := range signups {
		tokens = append(tokens, sg.token)
	}
	for _, w := range load.workers {
		tokens = append(tokens, w.token)
	}
	lost := 0
	for _, ok := range stillSignedIn(t, s, tokens) {
		if !ok {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d sessions are gone after the resharding", lost, len(tokens))
	}
	for w, name := range lastNames(t, s, load.workers) {
		if name != w.last {
			t.Errorf("a worker's last acknowledged profile change is lost: stored name.last %q, want %q", name, w.last)
		}
	}
}

// keySlot is the hash slot of key.
func keySlot(t *testing.T, node, key string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: node})
	defer c.Close()
	slot, err := c.ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT %s: %v", key, err)
	}
	return int(slot)
}

// redirects sums the MOVED and ASK error replies of the nodes.
func redirects(t *testing.T, nodes []string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stat := regexp.MustCompile(`(?m)^errorstat_(MOVED|ASK|TRYAGAIN):count=(\d+)`)
	sums := map[string]int{}
	for _, addr := range nodes {
		c := redis.NewClient(&redis.Options{Addr: addr})
		info, err := c.Info(ctx, "errorstats").Result()
		_ = c.Close()
		if err != nil {
			t.Fatalf("INFO errorstats on %s: %v", addr, err)
		}
		for _, m := range stat.FindAllStringSubmatch(info, -1) {
			n, _ := strconv.Atoi(m[2])
			sums[m[1]] += n
		}
	}
	return sums
}
