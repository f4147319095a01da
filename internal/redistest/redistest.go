// Package redistest starts a real redis-server (or a Sentinel, or a
// Cluster of them) for tests whose point is Redis behaviour itself:
// persistence, outages, TTLs, concurrency, topologies. Fast unit tests use
// miniredis instead.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stickylab/internal/testenv"
)

// Server is a redis-server child process listening on a free loopback port,
// with its data in a temporary directory. It is killed when the test ends.
type Server struct {
	t     testing.TB
	Addr  string // host:port
	dir   string
	port  int
	args  []string // after the config file: --sentinel for a sentinel
	ready string   // the log line that says the process is ready
	cmd   *exec.Cmd

	mu  sync.Mutex      // protects out
	out strings.Builder // what the process printed, across restarts
}

// readyLine is what redis-server logs once it accepts commands, its data
// loaded.
const readyLine = "Ready to accept connections"

// Start starts a redis-server for t, or skips t (fails it when
// STICKYLAB_REQUIRE names redis) when the binary is not installed. extra are
// more config directives, e.g. "appendonly yes".
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	return launch(t, freePort(t), readyLine, nil, extra...)
}

// launch starts redis-server on port with the base config plus extra and
// args after the config file, and waits until its log has a line
// containing ready.
func launch(t testing.TB, port int, ready string, args []string, extra ...string) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server", "no redis-server on PATH (apt-get install redis-server)")
	s := &Server{t: t, dir: t.TempDir(), port: port, args: args, ready: ready}
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

// lookPath returns the path of the command name, or ends the test as
// testenv.Missing does, why saying how to install it.
func lookPath(t testing.TB, name, why string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, "redis", why)
	}
	return bin
}

func (s *Server) start(bin, conf string) {
	s.t.Helper()
	cmd := exec.Command(bin, append([]string{conf}, s.args...)...)
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
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			s.mu.Lock()
			s.out.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if !signalled && strings.Contains(sc.Text(), s.ready) {
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
		s.t.Fatalf("redistest: redis-server did not start on %s:\n%s", s.Addr, s.Output())
	}
}

// Output is what the process has printed (its log) since it was first
// started, for the message of a failing test.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *Server) dialable() bool {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// errNoFreeze: Windows has no SIGSTOP, so Stop cannot freeze a
// redis-server there (freeze_windows.go).
var errNoFreeze = errors.New("freezing a process needs SIGSTOP, which Windows has not")

// Stop freezes the server with SIGSTOP: connections stay open but nothing
// answers, the way a hung or partitioned Redis behaves. Unix only: on
// Windows the test ends as for a missing redis-server.
func (s *Server) Stop() {
	s.t.Helper()
	if err := freeze(s.cmd.Process); errors.Is(err, errNoFreeze) {
		testenv.Missing(s.t, "redis", err.Error())
	} else if err != nil {
		s.t.Fatalf("redistest: freeze: %v", err)
	}
}

// Continue resumes a server frozen by Stop.
func (s *Server) Continue() {
	s.t.Helper()
	if err := thaw(s.cmd.Process); err != nil {
		s.t.Fatalf("redistest: thaw: %v", err)
	}
}

// Kill ends the server with SIGKILL and waits for it; safe to call twice.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	thaw(s.cmd.Process)
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart kills the server and starts it again on the same port and data
// directory, so that what it persisted (AOF, RDB) is loaded again.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start(lookPath(s.t, "redis-server", "no redis-server on PATH"), filepath.Join(s.dir, "redis.conf"))
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
