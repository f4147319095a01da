package redistest

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
)

// sentinelMaster is the name under which StartSentinel's sentinel monitors
// its master.
const sentinelMaster = "stickylab-test"

// StartSentinel starts a redis-server master and a Redis Sentinel that
// monitors it as masterName with quorum 1, both killed when the test
// ends, and returns once the sentinel reports that master at master.Addr
// and connected. Clients find the master by asking sentinelAddr. Skips t
// (fails it when STICKYLAB_REQUIRE names redis) when redis-server is not
// installed.
func StartSentinel(t testing.TB) (masterName, sentinelAddr string, master *Server) {
	t.Helper()
	master = Start(t)
	host, port, _ := net.SplitHostPort(master.Addr)
	sentinel := launch(t, freePort(t), "+monitor master", []string{"--sentinel"},
		fmt.Sprintf("sentinel monitor %s %s %s 1", sentinelMaster, host, port))
	c := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
	defer c.Close()
	waitUntil(t, "sentinel at "+sentinel.Addr+" to report its master", []*Server{sentinel, master}, func(ctx context.Context) error {
		addr, err := c.GetMasterAddrByName(ctx, sentinelMaster).Result()
		if err != nil {
			return err
		}
		if len(addr) != 2 || net.JoinHostPort(addr[0], addr[1]) != master.Addr {
			return fmt.Errorf("master address %q, want %s", addr, master.Addr)
		}
		m, err := c.Master(ctx, sentinelMaster).Result()
		if err != nil {
			return err
		}
		if m["flags"] != "master" || m["role-reported"] != "master" {
			return fmt.Errorf("master flags %q, role reported %q; want master and master", m["flags"], m["role-reported"])
		}
		return nil
	})
	return sentinelMaster, sentinel.Addr, master
}
