package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// HAMaster is the name under which RedisHA's Sentinels know the primary
// (the master_name of its redis+sentinel URL).
const HAMaster = "stickylab"

// The Sentinels' timing, short so that a lab's failover takes seconds, not
// the default half minute: the primary is down after haDownAfter without an
// answer, and a failover not done after haFailoverTimeout is given up.
const (
	haDownAfter       = time.Second
	haFailoverTimeout = 10 * time.Second
	haStartTimeout    = 30 * time.Second
	// haTiltBound is longer than TILT mode's 30 s.
	haTiltBound = 45 * time.Second
	// haSwitchBound bounds the switch after the primary's kill: a second
	// of silence, the Sentinels' vote and the promotion take a few seconds;
	// the bound is generous for a busy machine (TILT mode lasts 30 s) and
	// only decides how long a broken failover takes to be reported.
	haSwitchBound = 60 * time.Second
)

// RedisHA is Redis with automatic failover on one machine: a primary, one
// replica and three Sentinels (quorum 2), each a real redis-server child
// process on a loopback port, with AOF on, in a temporary directory. When
// the primary dies, two Sentinels agree within haDownAfter that it is down
// and one promotes the replica; clients of URL ask the Sentinels and follow.
// Its methods are safe for concurrent use.
type RedisHA struct {
	dir       string
	spawn     *spawner
	procs     []*redisProc // primary, replica, sentinel1..3
	sentinels []string     // the Sentinels' addresses
}

// RedisProcess is one process of a RedisHA.
type RedisProcess struct {
	Role string // primary, replica (their roles at start), sentinel1..3
	Addr string // 127.0.0.1:port
	PID  int
}

type redisProc struct {
	RedisProcess
	proc *os.Process
	log  string // its log file
	done chan struct{}
}

// StartRedisHA starts the five processes and returns once the replica has
// synchronised and every Sentinel knows the primary, the replica and the
// two other Sentinels: a failover can happen from then on. It fails with a
// clear error when redis-server is not installed. Close stops them.
func StartRedisHA(ctx context.Context) (*RedisHA, error) {
	bin, err := LookRedisServer()
	if err != nil {
		return nil, fmt.Errorf("redis ha: %w", err)
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, fmt.Errorf("redis ha: %w", err)
	}
	dir, err := os.MkdirTemp("", "stickylab-redis-ha-")
	if err != nil {
		return nil, fmt.Errorf("redis ha: %w", err)
	}
	h := &RedisHA{dir: dir, spawn: newSpawner()}
	ok := false
	defer func() {
		if !ok {
			h.Close()
		}
	}()
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	server := []string{"--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		"--repl-diskless-sync-delay", "0"}
	if err := h.start(bin, "primary", addr(0), server); err != nil {
		return nil, err
	}
	replica := slices.Concat(server, []string{"--replicaof", "127.0.0.1", strconv.Itoa(ports[0])})
	if err := h.start(bin, "replica", addr(1), replica); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, haStartTimeout)
	defer cancel()
	if err := h.await(ctx, "the replica to synchronise", func(ctx context.Context) error {
		return replicaInSync(ctx, addr(1))
	}); err != nil {
		return nil, err
	}
	for i := range 3 {
		role := fmt.Sprintf("sentinel%d", i+1)
		conf := filepath.Join(dir, role+".conf")
		text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\nsentinel down-after-milliseconds %[1]s %[3]d\nsentinel failover-timeout %[1]s %[4]d\n",
			HAMaster, ports[0], haDownAfter.Milliseconds(), haFailoverTimeout.Milliseconds())
		// Sentinel rewrites its configuration file: one of its own.
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("redis ha: %w", err)
		}
		if err := h.start(bin, role, addr(2+i), []string{conf, "--sentinel", "--bind", "127.0.0.1"}); err != nil {
			return nil, err
		}
		h.sentinels = append(h.sentinels, addr(2+i))
	}
	for _, s := range h.sentinels {
		if err := h.await(ctx, "sentinel "+s+" to know the primary, the replica and the other Sentinels", func(ctx context.Context) error {
			return sentinelReady(ctx, s, addr(0))
		}); err != nil {
			return nil, err
		}
	}
	ok = true
	return h, nil
}

// start starts one redis-server on addr with args, its log and files in
// the directory of h.
func (h *RedisHA) start(bin, role, addr string, args []string) error {
	_, port, _ := net.SplitHostPort(addr)
	work := filepath.Join(h.dir, role)
	if err := os.Mkdir(work, 0o700); err != nil {
		return fmt.Errorf("redis ha: %w", err)
	}
	p := &redisProc{RedisProcess: RedisProcess{Role: role, Addr: addr}, log: filepath.Join(h.dir, role+".log"), done: make(chan struct{})}
	args = slices.Concat(args, []string{"--port", port, "--dir", work, "--logfile", p.log, "--protected-mode", "no"})
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = childAttr()
	if err := h.spawn.start(cmd); err != nil {
		return fmt.Errorf("redis ha: start %s: %w", role, err)
	}
	p.PID, p.proc = cmd.Process.Pid, cmd.Process
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	h.procs = append(h.procs, p)
	return nil
}

// await polls ready until it succeeds, a process of h ends, or ctx is done.
func (h *RedisHA) await(ctx context.Context, what string, ready func(context.Context) error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		for _, p := range h.procs {
			select {
			case <-p.done:
				return fmt.Errorf("redis ha: %s ended while waiting for %s; its log ends with: %s", p.Role, what, lastLogLines(p.log))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis ha: waiting for %s: %w (last: %v)", what, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func replicaInSync(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_link_status:up") {
		return errors.New("master_link_status is not up")
	}
	return nil
}

func sentinelReady(ctx context.Context, sentinel, primary string) error {
	c := redis.NewSentinelClient(&redis.Options{Addr: sentinel, MaxRetries: -1})
	defer c.Close()
	m, err := c.Master(ctx, HAMaster).Result()
	if err != nil {
		return err
	}
	if net.JoinHostPort(m["ip"], m["port"]) != primary || m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
		return fmt.Errorf("master %s:%s, %s replicas, %s other sentinels", m["ip"], m["port"], m["num-slaves"], m["num-other-sentinels"])
	}
	return nil
}

// awaitSteady waits until every Sentinel knows the primary, the replica
// and the two others and is out of TILT mode, where a Sentinel acts on
// nothing for 30 s: it enters it when it was not scheduled for 2 s, as
// happens on a busy machine. A kill before then measures TILT, not the
// failover. The wait is bounded by haTiltBound.
func (h *RedisHA) awaitSteady(ctx context.Context) error {
	primary, err := h.Primary(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, haTiltBound)
	defer cancel()
	for _, s := range h.sentinels {
		if err := h.await(ctx, "sentinel "+s+" to be out of TILT mode and know the primary, the replica and the other Sentinels", func(ctx context.Context) error {
			c := redis.NewSentinelClient(&redis.Options{Addr: s, MaxRetries: -1})
			cmd := redis.NewStringCmd(ctx, "info", "sentinel")
			c.Process(ctx, cmd)
			c.Close()
			info, err := cmd.Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "sentinel_tilt:0") {
				return errors.New("in TILT mode")
			}
			return sentinelReady(ctx, s, primary)
		}); err != nil {
			return err
		}
	}
	return nil
}

// lastLogLines is the end of a process's log file, for an error message.
func lastLogLines(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-5):], []byte(" | ")))
}

// URL is the redis+sentinel URL of database 0 that the app instances use.
func (h *RedisHA) URL() string {
	q := url.Values{"master_name": {HAMaster}}
	for _, s := range h.sentinels[1:] {
		q.Add("addr", s)
	}
	return "redis+sentinel://" + h.sentinels[0] + "/0?" + q.Encode()
}

// Processes are the five processes, in the order they started.
func (h *RedisHA) Processes() []RedisProcess {
	out := make([]RedisProcess, len(h.procs))
	for i, p := range h.procs {
		out[i] = p.RedisProcess
	}
	return out
}

// Primary is the address of the primary as the Sentinels report it now.
func (h *RedisHA) Primary(ctx context.Context) (string, error) {
	var last error
	for _, s := range h.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s, MaxRetries: -1})
		addr, err := c.GetMasterAddrByName(ctx, HAMaster).Result()
		c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
		last = err
	}
	return "", fmt.Errorf("redis ha: no sentinel answers: %w", last)
}

// KillPrimary kills (SIGKILL) the process that the Sentinels report as the
// primary, and returns its address. The Sentinels then promote the other
// server; a second kill leaves no server to promote.
func (h *RedisHA) KillPrimary(ctx context.Context) (string, error) {
	addr, err := h.Primary(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range h.procs {
		if p.Addr == addr && !strings.HasPrefix(p.Role, "sentinel") {
			if err := p.proc.Kill(); err != nil {
				return "", fmt.Errorf("redis ha: kill the primary %s: %w", addr, err)
			}
			<-p.done
			return addr, nil
		}
	}
	return "", fmt.Errorf("redis ha: the Sentinels report the primary at %s, which is none of its servers", addr)
}

// awaitPromoted waits until the Sentinels report a primary other than the
// killed one, within haSwitchBound.
func (h *RedisHA) awaitPromoted(ctx context.Context, killed string) error {
	ctx, cancel := context.WithTimeout(ctx, haSwitchBound)
	defer cancel()
	for {
		addr, err := h.Primary(ctx)
		if err == nil && addr != killed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis ha: the Sentinels still report %s as the primary (%v): %w", killed, err, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Describe is what the demo prints of h: the URL and every process, with
// how to kill the primary.
func (h *RedisHA) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Redis with automatic failover (-redis ha): %s\n", h.URL())
	for _, p := range h.procs {
		fmt.Fprintf(&b, "  %-10s %-16s pid %d\n", p.Role, p.Addr, p.PID)
	}
	fmt.Fprintf(&b, "  kill -9 %d kills the primary: the Sentinels promote the replica within seconds.\n", h.procs[0].PID)
	return b.String()
}

// Close kills every process, waits for them and removes their files.
func (h *RedisHA) Close() {
	for _, p := range h.procs {
		p.proc.Kill() // SIGKILL: nothing of theirs is worth keeping
	}
	for _, p := range h.procs {
		<-p.done
	}
	h.spawn.close()
	os.RemoveAll(h.dir)
}
