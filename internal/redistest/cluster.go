package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// busOffset is how far a cluster node's bus port is from its client port.
const busOffset = 10000

// StartCluster starts n (at least 3) cluster-enabled redis-servers, joins
// them into one Redis Cluster with redis-cli --cluster create (n masters
// sharing the 16384 slots, no replicas), and returns once every node says
// cluster_state:ok and knows all n. All are killed when the test ends.
// Skips t (fails it when STICKYLAB_REQUIRE names redis) when redis-server or
// redis-cli is not installed.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	if n < 3 {
		t.Fatalf("redistest: a cluster needs at least 3 masters, not %d", n)
	}
	cli := lookPath(t, "redis-cli", "no redis-cli on PATH (apt-get install redis-tools)")
	nodes := make([]*Server, n)
	args := []string{"--cluster", "create"}
	for i, port := range clusterPorts(t, n) {
		nodes[i] = launch(t, port, readyLine, nil,
			"cluster-enabled yes",
			"cluster-config-file nodes.conf",
			"cluster-node-timeout 5000")
		args = append(args, nodes[i].Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")

	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	create := exec.CommandContext(ctx, cli, args...)
	create.SysProcAttr = serverAttr()
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli %s: %v\n%s\n%s", strings.Join(args, " "), err, out, outputs(nodes))
	}

	clients := make([]*redis.Client, n)
	for i, s := range nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: s.Addr})
		defer clients[i].Close()
	}
	want := []string{"cluster_state:ok", "cluster_slots_ok:16384", "cluster_known_nodes:" + strconv.Itoa(n)}
	waitUntil(t, "cluster to be ok on every node", nodes, func(ctx context.Context) error {
		for i, c := range clients {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil {
				return fmt.Errorf("%s: CLUSTER INFO: %w", nodes[i].Addr, err)
			}
			for _, w := range want {
				if !strings.Contains(info, w+"\r\n") {
					return fmt.Errorf("%s: no %s in CLUSTER INFO:\n%s", nodes[i].Addr, w, info)
				}
			}
		}
		return nil
	})
	return nodes
}

// clusterPorts returns n free loopback ports whose bus ports (port+busOffset)
// are free too. Every port it tried stays held until it returns, so that no
// two of them, client or bus, are the same.
func clusterPorts(t testing.TB, n int) []int {
	t.Helper()
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	listen := func(port int) bool {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			held = append(held, l)
		}
		return err == nil
	}
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries == 100*n {
			t.Fatalf("redistest: found only %d of %d free port pairs (port, port+%d)", len(ports), n, busOffset)
		}
		if !listen(0) {
			t.Fatalf("redistest: no free loopback port")
		}
		port := held[len(held)-1].Addr().(*net.TCPAddr).Port
		if port+busOffset <= 65535 && listen(port+busOffset) {
			ports = append(ports, port)
		}
	}
	return ports
}
