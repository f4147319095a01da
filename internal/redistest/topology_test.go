package redistest

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestStartSentinel writes through a client that knows only the sentinel and
// finds the value on the master and, once replicated, on the replica.
func TestStartSentinel(t *testing.T) {
	sn := StartSentinel(t, 1)
	if sn.Addr == sn.Master.Addr || sn.Addr == sn.Replicas[0].Addr {
		t.Fatalf("the sentinel shares %s with a redis-server", sn.Addr)
	}
	ctx := context.Background()
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sn.Name, SentinelAddrs: []string{sn.Addr}})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through the sentinel: %v", err)
	}
	sn.WaitReplicated(t)
	for _, s := range []*Server{sn.Master, sn.Replicas[0]} {
		direct := redis.NewClient(&redis.Options{Addr: s.Addr})
		defer direct.Close()
		if got, err := direct.Get(ctx, "k").Result(); err != nil || got != "v" {
			t.Errorf("GET on %s: got %q, %v; want v", s, got, err)
		}
	}
}

// TestStartCluster writes keys through a client that knows one node and
// finds them spread over all the nodes.
func TestStartCluster(t *testing.T) {
	nodes := StartCluster(t, 3)
	ctx := context.Background()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].Addr}})
	defer c.Close()
	for i := range 30 {
		if err := c.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatalf("SET through the cluster: %v", err)
		}
	}
	for _, s := range nodes {
		n := redis.NewClient(&redis.Options{Addr: s.Addr})
		defer n.Close()
		if size, err := n.DBSize(ctx).Result(); err != nil || size == 0 {
			t.Errorf("%s: got DBSIZE %d, %v; want some of the keys on every node", s, size, err)
		}
	}
}
