package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// errNoRedisServer is the clear error of a scenario or demo that needs a
// real redis-server on a machine without one.
var errNoRedisServer = errors.New("redis-server not found: install Redis (Debian or Ubuntu: apt-get install redis-server; macOS: brew install redis)")

// LookRedisServer returns the path of redis-server, or an error saying how
// to install it.
func LookRedisServer() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNoRedisServer, err)
	}
	return bin, nil
}

// singleRedis is one real redis-server child process on a loopback port
// that can be killed (SIGKILL) and started again on the same port and
// directory, as a supervisor restarts a crashed Redis: with AOF, what it
// wrote to its append-only file comes back; without, it starts empty. Its
// methods are not safe for concurrent use.
type singleRedis struct {
	bin, addr, dir string
	aof            bool
	spawn          *spawner
	proc           *os.Process
	done           chan struct{} // closed when proc has ended
}

// startSingleRedis starts a redis-server with AOF on (appendfsync
// everysec, Redis's default) or with no persistence at all, and waits
// until it answers. Close it.
func startSingleRedis(ctx context.Context, aof bool) (*singleRedis, error) {
	bin, err := LookRedisServer()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	dir, err := os.MkdirTemp("", "stickylab-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	s := &singleRedis{bin: bin, addr: "127.0.0.1:" + strconv.Itoa(ports[0]), dir: dir, aof: aof, spawn: newSpawner()}
	if err := s.start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// URL is the redis:// URL of its database 0.
func (s *singleRedis) URL() string { return "redis://" + s.addr + "/0" }

// start starts the process and waits until it answers PING (with AOF,
// after it has loaded its file).
func (s *singleRedis) start(ctx context.Context) error {
	_, port, _ := net.SplitHostPort(s.addr)
	appendonly := "no"
	if s.aof {
		appendonly = "yes"
	}
	log := filepath.Join(s.dir, "redis.log")
	cmd := exec.Command(s.bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", appendonly,
		"--appendfsync", "everysec", "--dir", s.dir, "--logfile", log, "--protected-mode", "no")
	cmd.SysProcAttr = childAttr()
	if err := s.spawn.start(cmd); err != nil {
		return fmt.Errorf("redis: start redis-server: %w", err)
	}
	done := make(chan struct{})
	s.proc, s.done = cmd.Process, done
	go func() {
		cmd.Wait()
		close(done)
	}()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer c.Close()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis: redis-server ended at start; its log ends with: %s", lastLogLines(log))
		case <-ctx.Done():
			return fmt.Errorf("redis: redis-server does not answer: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill kills the process with SIGKILL and waits for its end.
func (s *singleRedis) kill() error {
	if err := s.proc.Kill(); err != nil {
		return fmt.Errorf("redis: kill: %w", err)
	}
	<-s.done
	return nil
}

// Close kills the process, if it runs, and removes its files.
func (s *singleRedis) Close() {
	if s.proc != nil {
		s.proc.Kill()
		<-s.done
	}
	s.spawn.close()
	os.RemoveAll(s.dir)
}
