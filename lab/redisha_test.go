package lab

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stickylab/internal/testenv"
)

// haSession is the part of GET /api/session the failover test looks at.
type haSession struct {
	Instance string   `json:"instance"`
	LoggedIn bool     `json:"logged_in"`
	User     string   `json:"user"`
	Visits   int      `json:"visits"`
	Cart     []string `json:"cart"`
}

func requireRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Missing(t, "redis", "redis-server not found (Debian: apt-get install redis-server)")
	}
}

// TestDemoRedisHAFailover is `stickylab demo -store redis -redis ha`, for
// real: a primary, a replica and three Sentinels as redis-server processes,
// the instances on the redis+sentinel URL. A user logs in through the
// balancer; the primary is killed with SIGKILL. Until the Sentinels have
// promoted the replica, a request that needs the store may get 503 (the
// store is away, the app says so) but never an answer with an empty
// session; afterwards the user is still logged in, and the session takes
// writes on the promoted replica.
func TestDemoRedisHAFailover(t *testing.T) {
	requireRedisServer(t)
	d := startDemo(t, "-store", "redis", "-redis", "ha")
	m := regexp.MustCompile(`(?m)^\s+primary\s+(\S+)\s+pid (\d+)$`).FindStringSubmatch(d.banner)
	if m == nil {
		t.Fatalf("no primary in the banner:\n%s", d.banner)
	}
	primaryAddr := m[1]
	pid, _ := strconv.Atoi(m[2])
	if !slices.Contains(childrenOf(t, d.cmd.Process.Pid), pid) {
		t.Fatalf("the primary's pid %d is not a child of the demo (%d)", pid, d.cmd.Process.Pid)
	}
	urlRE := regexp.MustCompile(`redis\+sentinel://(\S+)/0\?`)
	um := urlRE.FindStringSubmatch(d.banner)
	if um == nil {
		t.Fatalf("no redis+sentinel URL in the banner:\n%s", d.banner)
	}
	h := &RedisHA{sentinels: []string{um[1]}} // enough to ask a Sentinel

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	do := func(method, path, body string) (haSession, int) {
		t.Helper()
		req, _ := http.NewRequest(method, d.app+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var s haSession
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
		return s, resp.StatusCode
	}
	if _, status := do("POST", "/api/login", `{"username":"ada"}`); status != http.StatusOK {
		t.Fatalf("login: %d", status)
	}
	before, status := do("GET", "/api/session", "")
	if status != http.StatusOK || !before.LoggedIn {
		t.Fatalf("after login: %d %+v", status, before)
	}
	// Redis replicates asynchronously: let the replica have the session
	// before the kill (a failover may lose the last writes: Redis's trade,
	// not what this test is about).
	awaitReplicated(t, primaryAddr)

	// SIGKILL (TerminateProcess on Windows): os.Process.Kill builds everywhere.
	if p, err := os.FindProcess(pid); err != nil {
		t.Fatal(err)
	} else if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var unavailable, answered int
	switched := false
	for {
		if time.Since(start) > haSwitchBound {
			t.Fatalf("not logged in on the promoted replica within %v (switched %v)", haSwitchBound, switched)
		}
		s, status := do("GET", "/api/session", "")
		switch {
		case status == http.StatusServiceUnavailable:
			unavailable++
		case status != http.StatusOK:
			t.Fatalf("during the failover: status %d, want 200 or 503", status)
		case !s.LoggedIn || s.User != "ada":
			t.Fatalf("during the failover, %s answered logged_in=%v user=%q: an empty session, the user logged out", s.Instance, s.LoggedIn, s.User)
		default:
			answered++
		}
		if !switched {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			addr, err := h.Primary(ctx)
			cancel()
			switched = err == nil && addr != primaryAddr
		}
		if switched && status == http.StatusOK {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("after the kill of the primary: %d answers logged in, %d 503, logged in on the promoted replica after %v",
		answered, unavailable, time.Since(start).Round(100*time.Millisecond))
	if _, status := do("POST", "/api/cart", `{"item":"tea"}`); status != http.StatusOK {
		t.Fatalf("a write after the failover: %d", status)
	}
	after, _ := do("GET", "/api/session", "")
	if !after.LoggedIn || after.User != "ada" || after.Visits <= before.Visits || !slices.Contains(after.Cart, "tea") {
		t.Errorf("after the failover: %+v; want ada logged in, more than %d visits, tea in the cart", after, before.Visits)
	}
}

// awaitReplicated waits until a replica of the primary at addr has
// acknowledged every write so far (WAIT 1).
func awaitReplicated(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	n, err := c.Wait(t.Context(), 1, 5*time.Second).Result()
	if err != nil || n != 1 {
		t.Fatalf("WAIT 1 5000 on the primary: %d replicas (%v), want 1 with every write", n, err)
	}
}

// TestDemoRedisHANeedsRedisServer: without redis-server, -redis ha says
// what is missing and how to get it, and starts nothing.
func TestDemoRedisHANeedsRedisServer(t *testing.T) {
	cmd := exec.Command(stickylab, "demo", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-store", "redis", "-redis", "ha")
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("demo -redis ha without redis-server: no error; output:\n%s", out)
	}
	if !strings.Contains(string(out), "redis-server not found") || !strings.Contains(string(out), "apt-get install redis-server") {
		t.Errorf("demo -redis ha without redis-server: %v\n%s\nwant a message naming redis-server and how to install it", err, out)
	}
}

// TestRedisHAKillPrimary: StartRedisHA's servers fail over. A key written
// through a client of URL (go-redis's failover client, as the instances
// use) is still there after KillPrimary, read and written through the same
// client once the Sentinels report the other server as primary.
func TestRedisHAKillPrimary(t *testing.T) {
	requireRedisServer(t)
	ctx := t.Context()
	h, err := StartRedisHA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got := len(h.Processes()); got != 5 {
		t.Fatalf("%d processes, want 5: a primary, a replica, three Sentinels", got)
	}
	opt, err := redis.ParseFailoverURL(strings.Replace(h.URL(), "redis+sentinel://", "redis://", 1))
	if err != nil {
		t.Fatalf("URL %s: %v", h.URL(), err)
	}
	c := redis.NewFailoverClient(opt)
	defer c.Close()
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	first, err := h.Primary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	awaitReplicated(t, first)
	killed, err := h.KillPrimary(ctx)
	if err != nil || killed != first {
		t.Fatalf("KillPrimary: %q, %v; want %s", killed, err, first)
	}
	deadline := time.Now().Add(haSwitchBound)
	for {
		addr, err := h.Primary(ctx)
		if err == nil && addr != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Sentinels still report %q (%v) %v after the kill of %s", addr, err, haSwitchBound, first)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		v, err := c.Get(ctx, "k").Result()
		if err == nil {
			if v != "before" {
				t.Fatalf("after the failover: k = %q, want before", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the failover: GET k: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.Set(ctx, "k", "after", 0).Err(); err != nil {
		t.Errorf("a write after the failover: %v", err)
	}
}
