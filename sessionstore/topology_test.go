package sessionstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// topology is a Redis deployment of real redis-servers that the app reaches
// through a -redis-url of the form the README documents.
type topology struct {
	name string
	// start starts the servers and returns the URL, and check, which
	// TestTopologies runs last: what proves the store used the topology
	// the way it is meant to be used.
	start func(t *testing.T) (url string, check func(t *testing.T))
}

func topologies() []topology {
	return []topology{
		{"sentinel", func(t *testing.T) (string, func(t *testing.T)) {
			sn := redistest.StartSentinel(t, 0)
			master := sn.Master
			url := sentinelURL(t, sn)
			return url, func(t *testing.T) {
				e := newURLRedisEnv(t, url, Config{KeyPrefix: "topology:"})
				_, id := stored(t, e.store, map[string]any{"user": "alice"})
				direct := redis.NewClient(&redis.Options{Addr: master.Addr})
				defer direct.Close()
				rec, err := direct.Get(context.Background(), e.store.be.(*redisBackend).key(id)).Result()
				if err != nil || !strings.Contains(rec, `"user":"alice"`) {
					t.Errorf("the master at %s holds %q (%v), want the session the store saved through %s", master.Addr, rec, err, url)
				}
			}
		}},
		{"cluster", func(t *testing.T) (string, func(t *testing.T)) {
			nodes := redistest.StartCluster(t, 3)
			url := fmt.Sprintf("redis+cluster://%s?addr=%s&addr=%s", nodes[0].Addr, nodes[1].Addr, nodes[2].Addr)
			return url, func(t *testing.T) { checkClusterSpread(t, url, nodes) }
		}},
	}
}

// sentinelURL is the redis+sentinel:// URL of sn's database 0. It names only
// the sentinel: the client must ask it for the master's address.
func sentinelURL(t *testing.T, sn *redistest.Sentinel) string {
	t.Helper()
	url := fmt.Sprintf("redis+sentinel://%s/0?master_name=%s", sn.Addr, sn.Name)
	if strings.Contains(url, sn.Master.Addr) {
		t.Fatalf("%s names the master %s", url, sn.Master.Addr)
	}
	return url
}

// TestTopologies runs the behaviour table and the concurrent cart additions
// over Redis Sentinel and Redis Cluster, each store with a client that
// NewRedisClient makes from a redis+sentinel:// or redis+cluster:// URL.
func TestTopologies(t *testing.T) {
	const unit = time.Second // real servers: TTLs run on the wall clock
	for _, tp := range topologies() {
		t.Run(tp.name, func(t *testing.T) {
			t.Parallel()
			url, check := tp.start(t)
			t.Logf("-redis-url %s", url)
			for _, b := range behaviours() {
				t.Run(b.name, func(t *testing.T) {
					b.run(t, newURLRedisEnv(t, url, Config{IdleTimeout: unit, Lifetime: 3 * unit}), unit)
				})
			}
			t.Run("concurrent cart additions", func(t *testing.T) {
				concurrentCartAdditions(t, newURLRedisEnv(t, url, Config{}))
			})
			t.Run("check", check)
		})
	}
}

// checkClusterSpread stores, loads, changes and renews sessions through url
// and checks that their keys are on more than one node, so that the store's
// scripts ran on many slots and nodes, and that the cluster refuses a script
// over keys of two slots (CROSSSLOT): a store whose script touched two keys
// would fail the behaviour table here.
func checkClusterSpread(t *testing.T, url string, nodes []*redistest.Server) {
	const sessions = 64 // all on one node of 3: (1/3)^63
	ctx := context.Background()
	e := newURLRedisEnv(t, url, Config{KeyPrefix: "topology:"})
	keys := make([]string, 0, sessions)
	for i := range sessions {
		c, _ := stored(t, e.store, map[string]any{"n": i})
		sess := load(t, e.store, c)
		sess.Values["n"] = -i
		e.store.Renew(sess)
		id := cookieID(t, e.store, mustSave(t, e.store, sess))
		if got := load(t, e.store, c); !got.IsNew {
			t.Fatalf("session %d: the cookie from before the renewal still loads", i)
		}
		keys = append(keys, e.store.be.(*redisBackend).key(id))
	}
	held := 0
	for _, n := range nodes {
		direct := redis.NewClient(&redis.Options{Addr: n.Addr})
		defer direct.Close()
		k, err := direct.Keys(ctx, "topology:*").Result()
		if err != nil {
			t.Fatalf("%s: KEYS: %v", n, err)
		}
		t.Logf("%s holds %d of the %d sessions", n, len(k), sessions)
		if len(k) > 0 {
			held++
		}
	}
	if held < 2 {
		t.Errorf("the sessions' keys are on %d of %d nodes, want several", held, len(nodes))
	}
	cluster := e.client.(*redis.ClusterClient)
	a, b := keys[0], ""
	for _, k := range keys[1:] {
		if redisSlot(ctx, t, cluster, k) != redisSlot(ctx, t, cluster, a) {
			b = k
			break
		}
	}
	if err := cluster.Eval(ctx, "return 1", []string{a, b}).Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Errorf("a script over keys of two slots: got %v, want a CROSSSLOT error", err)
	}
}

// redisSlot is the cluster's hash slot of key.
func redisSlot(ctx context.Context, t *testing.T, c *redis.ClusterClient, key string) int64 {
	t.Helper()
	slot, err := c.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	return slot
}
