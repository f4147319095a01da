package lb

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary a tiny backend process instead of running
// tests: the failover test kills it with SIGKILL, the way a real instance
// dies.
const childEnv = "STICKYLAB_LB_TEST_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		runChild(spec)
		return
	}
	os.Exit(m.Run())
}

// runChild serves as the backend "name@addr" until killed, after printing
// its address.
func runChild(spec string) {
	name, addr, _ := strings.Cut(spec, "@")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "1"})
		}
		io.WriteString(w, name)
	}))
}

// child is a backend running in its own process.
type child struct {
	name string
	url  *url.URL
	cmd  *exec.Cmd
}

// startChild starts a backend process called name on addr (127.0.0.1:0 for
// a free port); the test's cleanup kills it.
func startChild(t testing.TB, name, addr string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name+"@"+addr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, out)
	}()
	select {
	case a := <-line:
		if a == "" {
			t.Fatalf("child %s did not start", name)
		}
		return &child{name: name, url: &url.URL{Scheme: "http", Host: a}, cmd: cmd}
	case <-time.After(10 * time.Second):
		t.Fatalf("child %s did not print its address", name)
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *child) kill(t testing.TB) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", c.name, err)
	}
	c.cmd.Wait()
}
