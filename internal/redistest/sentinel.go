package redistest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sentinelMaster is the name under which StartSentinel's sentinel monitors
// its master.
const sentinelMaster = "stickylab-test"

// The sentinel's timing, short so that a failover takes a few seconds, not
// the default half minute: the master is down after downAfter without an
// answer, and a failover that has not ended after failoverTimeout is given
// up (and not retried before twice that).
const (
	downAfter       = time.Second
	failoverTimeout = 5 * time.Second
)

// Sentinel is a master, its replicas and one Redis Sentinel that monitors
// the master, as StartSentinel starts them.
type Sentinel struct {
	Name     string    // the name the sentinel knows the master by
	Addr     string    // the sentinel's address, where clients ask for the master's
	Master   *Server   // the master when StartSentinel returned
	Replicas []*Server // replicas of Master, in sync when StartSentinel returned

	sentinel *Server
}

// StartSentinel starts a redis-server master, n replicas of it (replicaof)
// and a Redis Sentinel that monitors it with quorum 1, all on 127.0.0.1 and
// killed when the test ends. It returns once every replica is in sync (see
// WaitReplicated) and the sentinel reports the master at Master.Addr and
// knows every replica (see WaitMaster). Once the master has not answered
// for a second, the sentinel fails it over to a replica, which takes one or
// two seconds more. Skips t (fails it when STICKYLAB_REQUIRE names redis)
// when redis-server is not installed.
func StartSentinel(t testing.TB, n int) *Sentinel {
	t.Helper()
	// No waiting for more replicas before a full sync (5 s by default).
	s := &Sentinel{Name: sentinelMaster, Master: Start(t, "repl-diskless-sync-delay 0")}
	host, port, _ := net.SplitHostPort(s.Master.Addr)
	for range n {
		s.Replicas = append(s.Replicas, Start(t, "replicaof "+host+" "+port))
	}
	s.WaitReplicated(t)
	// Started once the replicas are in sync: the sentinel learns them from
	// its first INFO of the master, and the next comes only 10 s later.
	s.sentinel = launch(t, freePort(t), "+monitor master", []string{"--sentinel"},
		fmt.Sprintf("sentinel monitor %s %s %s 1", s.Name, host, port),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", s.Name, downAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s %d", s.Name, failoverTimeout.Milliseconds()))
	s.Addr = s.sentinel.Addr
	s.WaitMaster(t, s.Master, s.Replicas...)
	return s
}

// WaitReplicated waits until Master reports every replica online with the
// replication offset it has itself: every write Master acknowledged before
// the call is on every replica. Replicas acknowledge once a second, so this
// takes up to a second. Meant for before a failover, while Master is the
// master.
func (s *Sentinel) WaitReplicated(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Master.Addr})
	defer c.Close()
	waitUntil(t, "replicas of "+s.Master.Addr+" to be in sync", s.procs(), func(ctx context.Context) error {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return fmt.Errorf("INFO replication: %w", err)
		}
		_, rest, _ := strings.Cut(info, "\r\nmaster_repl_offset:")
		offset, _, _ := strings.Cut(rest, "\r\n")
		for _, r := range s.Replicas {
			// The fields of a slaveN line, in the order of Redis 7.
			want := fmt.Sprintf(":ip=127.0.0.1,port=%d,state=online,offset=%s,", r.port, offset)
			if offset == "" || !strings.Contains(info, want) {
				return fmt.Errorf("no %q in INFO replication:\n%s", want, info)
			}
		}
		return nil
	})
}

// WaitMaster waits until the sentinel reports master as the master, at its
// address, connected and saying it is a master, and knows each of replicas
// as a connected replica. After a failover, master is the promoted replica.
func (s *Sentinel) WaitMaster(t testing.TB, master *Server, replicas ...*Server) {
	t.Helper()
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	waitUntil(t, "sentinel at "+s.Addr+" to report the master at "+master.Addr, s.procs(), func(ctx context.Context) error {
		addr, err := c.GetMasterAddrByName(ctx, s.Name).Result()
		if err != nil {
			return err
		}
		if len(addr) != 2 || net.JoinHostPort(addr[0], addr[1]) != master.Addr {
			return fmt.Errorf("master address %q, want %s", addr, master.Addr)
		}
		m, err := c.Master(ctx, s.Name).Result()
		if err != nil {
			return err
		}
		if m["flags"] != "master" || m["role-reported"] != "master" {
			return fmt.Errorf("master flags %q, role reported %q; want master and master", m["flags"], m["role-reported"])
		}
		known, err := c.Replicas(ctx, s.Name).Result()
		if err != nil {
			return err
		}
		for _, r := range replicas {
			if !slices.ContainsFunc(known, func(k map[string]string) bool {
				return k["ip"] == "127.0.0.1" && k["port"] == strconv.Itoa(r.port) &&
					k["flags"] == "slave" && k["master-link-status"] == "ok"
			}) {
				return fmt.Errorf("%s is not among the connected replicas the sentinel knows: %v", r.Addr, known)
			}
		}
		return nil
	})
}

// procs are all the processes, for the message of a failing wait.
func (s *Sentinel) procs() []*Server {
	procs := append([]*Server{s.Master}, s.Replicas...)
	if s.sentinel != nil {
		procs = append(procs, s.sentinel)
	}
	return procs
}
