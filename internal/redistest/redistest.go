// Package redistest starts a real redis-server for tests whose point is
// Redis behaviour itself: persistence, outages, TTLs, concurrency. Fast unit
// tests use miniredis instead.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stickylab/internal/testenv"
)

// Server is a redis-server child process listening on a free loopback port,
// with its data in a temporary directory. It is killed when the test ends.
type Server struct {
	t    testing.TB
	Addr string // host:port
	dir  string
	port int
	cmd  *exec.Cmd
}

// Start starts a redis-server for t, or skips t (fails it when
// STICKYLAB_REQUIRE names redis) when the binary is not installed. extra are
// more config directives, e.g. "appendonly yes".
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, "redis", "no redis-server on PATH (apt-get install redis-server)")
	}
	s := &Server{t: t, dir: t.TempDir()}
	s.port = freePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	conf := []string{
		"bind 127.0.0.1",
		"port " + strconv.Itoa(s.port),
		"dir " + s.dir,
		"save \"\"",
		"appendonly no",
		"daemonize no",
		"protected-mode yes",
		"logfile \"\"",
	}
	conf = append(conf, extra...)
	path := filepath.Join(s.dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("redistest: write config: %v", err)
	}
	s.start(bin, path)
	t.Cleanup(s.Kill)
	return s
}

// URL is the redis:// URL of the server's database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

func (s *Server) start(bin, conf string) {
	s.t.Helper()
	cmd := exec.Command(bin, conf)
	cmd.SysProcAttr = serverAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	s.cmd = cmd
	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled {
				log.WriteString(sc.Text() + "\n")
			}
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
		if !signalled {
			close(ready)
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
	}
	if !s.dialable() {
		s.Kill()
		s.t.Fatalf("redistest: redis-server did not start on %s:\n%s", s.Addr, log.String())
	}
}

func (s *Server) dialable() bool {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Stop freezes the server with SIGSTOP: connections stay open but nothing
// answers, the way a hung or partitioned Redis behaves.
func (s *Server) Stop() { s.signal(syscall.SIGSTOP) }

// Continue resumes a server frozen by Stop.
func (s *Server) Continue() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// Kill ends the server with SIGKILL and waits for it; safe to call twice.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart kills the server and starts it again on the same port and data
// directory, so that what it persisted (AOF, RDB) is loaded again.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	s.start(bin, filepath.Join(s.dir, "redis.conf"))
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// String describes the server for test logs.
func (s *Server) String() string { return fmt.Sprintf("redis-server at %s", s.Addr) }
