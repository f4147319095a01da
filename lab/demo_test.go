package lab

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoProcess is "stickylab demo" running as a child of the test, on free
// ports, with its output read line by line.
type demoProcess struct {
	cmd     *exec.Cmd
	lines   chan string   // stdout, closed at EOF
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // how it ended, set before exited closes
	admin   string        // admin API base URL, from the banner
	app     string        // the balancer's base URL, from the banner
	banner  string        // the banner, up to "What happens"
}

// startDemo starts the demo binary and waits for the end of its banner.
func startDemo(t *testing.T, args ...string) *demoProcess {
	t.Helper()
	args = append([]string{"demo", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-instances", "2"}, args...)
	cmd := exec.Command(stickylab, args...)
	// Should the test itself die, the demo goes with it.
	cmd.SysProcAttr = dieWithTest()
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &demoProcess{cmd: cmd, lines: make(chan string, 1024), exited: make(chan struct{})}
	// The one owner of the output and of Wait, which must come after the
	// last read; it ends when the demo does.
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
		close(d.lines)
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-d.exited
	})
	urlRE := regexp.MustCompile(`^\s+(app|admin)\s+(http://\S+)/`)
	banner := d.await(t, "What happens", func(line string) {
		if m := urlRE.FindStringSubmatch(line); m != nil && m[1] == "admin" {
			d.admin = m[2]
		} else if m != nil {
			d.app = m[2]
		}
	})
	if d.admin == "" || d.app == "" {
		t.Fatalf("no app or admin URL in the banner:\n%s", banner)
	}
	d.banner = banner
	return d
}

// await reads lines until one contains want, calling each (when not nil)
// for every line, and returns what it read. It fails t after 20 seconds.
func (d *demoProcess) await(t *testing.T, want string, each func(string)) string {
	t.Helper()
	var read strings.Builder
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-d.lines:
			if !ok {
				t.Fatalf("demo output ended before %q:\n%s", want, read.String())
			}
			read.WriteString(line + "\n")
			if each != nil {
				each(line)
			}
			if strings.Contains(line, want) {
				return read.String()
			}
		case <-timeout:
			t.Fatalf("no line with %q within 20s:\n%s", want, read.String())
		}
	}
}

func (d *demoProcess) post(t *testing.T, path string) {
	t.Helper()
	d.send(t, http.MethodPost, path, "")
}

// pids returns the instances' process IDs, from the admin API.
func (d *demoProcess) pids(t *testing.T) []int {
	t.Helper()
	resp, err := http.Get(d.admin + "/api/instances")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Instances []Instance }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("GET /api/instances: %v", err)
	}
	var pids []int
	for _, in := range list.Instances {
		pids = append(pids, in.PID)
	}
	return pids
}

// send sends body to the admin API's path and fails t unless it gets a 200.
func (d *demoProcess) send(t *testing.T, method, path, body string) {
	t.Helper()
	req, err := http.NewRequest(method, d.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: got %s %s, want 200", method, path, resp.Status, answer)
	}
}

func TestDemoKilledLeavesNoChild(t *testing.T) {
	d := startDemo(t)
	children := childrenOf(t, d.cmd.Process.Pid)
	if len(children) != 2 {
		t.Fatalf("demo has children %v, want its 2 instances", children)
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	// Pdeathsig on Linux: the kernel kills them as their parent dies; the
	// job object on Windows; elsewhere each notices it has a new parent.
	awaitGone(t, 10*time.Second, children...)
}

// TestDemoPassesStoreFlags: -cas=false, -redis-cache=false and
// -migrate-from reach every instance's command line, and the banner says
// that compare-and-set is off.
func TestDemoPassesStoreFlags(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no /proc to read the instances' command lines")
	}
	d := startDemo(t, "-store", "redis", "-migrate-from", "memory", "-cas=false", "-redis-cache=false")
	if !strings.Contains(d.banner, "compare-and-set off") {
		t.Errorf("got a banner without %q:\n%s", "compare-and-set off", d.banner)
	}
	for _, pid := range d.pids(t) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		for _, want := range [][]string{{"-cas=false"}, {"-redis-cache=false"}, {"-migrate-from", "memory"}, {"-store", "redis"}} {
			if !containsRun(args, want) {
				t.Errorf("instance %d: got arguments %q, want %q among them", pid, args, want)
			}
		}
	}
}

// containsRun reports whether want appears in args as consecutive elements.
func containsRun(args, want []string) bool {
	for i := 0; i+len(want) <= len(args); i++ {
		if slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// askSession sends body to url with client and returns the session the app
// answers with, failing t on anything but a 200 with a session.
func askSession(t *testing.T, client *http.Client, method, url, body string) sessionView {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s sessionView
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&s) != nil {
		t.Fatalf("%s %s: got %s, want 200 and the session", method, url, resp.Status)
	}
	return s
}

// The tutorial's first lesson through the demo: log in, kill the instance
// that answers, ask again. With switchTo, the store is switched through the
// admin API after the login, before the kill.
func TestDemoKillServingInstance(t *testing.T) {
	cases := []struct {
		name, store  string
		switchTo     string
		wantLoggedIn bool
	}{
		{"memory", "memory", "", false},
		{"redis", "redis", "", true},
		{"cookie", "cookie", "", true},
		{"memory switched to redis in place", "memory", `{"store":"redis","migrate":true}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := startDemo(t, "-store", c.store)
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Timeout: 5 * time.Second}
			session := func(method, path, body string) sessionView {
				t.Helper()
				return askSession(t, client, method, d.app+path, body)
			}
			first := session("POST", "/api/login", `{"username":"ada"}`)
			if s := session("GET", "/api/session", ""); !s.LoggedIn || s.Instance != first.Instance {
				t.Fatalf("after login: %+v, want logged in on %s (sticky)", s, first.Instance)
			}
			if c.switchTo != "" {
				d.send(t, http.MethodPut, "/api/store", c.switchTo)
				if s := session("GET", "/api/session", ""); !s.LoggedIn || s.Instance != first.Instance {
					t.Fatalf("after the switch: %+v, want still logged in on %s", s, first.Instance)
				}
			}
			d.post(t, "/api/instances/"+first.Instance+"/kill")
			after := session("GET", "/api/session", "")
			if after.Instance == first.Instance {
				t.Fatalf("answered by the killed instance %s", after.Instance)
			}
			if after.LoggedIn != c.wantLoggedIn {
				t.Errorf("after killing %s: logged_in %v, want %v", first.Instance, after.LoggedIn, c.wantLoggedIn)
			}
		})
	}
}
