package lab

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"
)

// testFleet starts a fleet of n instances for t and stops it at the end.
func testFleet(t *testing.T, cfg FleetConfig) *Fleet {
	t.Helper()
	cfg.Binary = stickylab
	f, err := StartFleet(context.Background(), cfg)
	if err != nil {
		t.Fatalf("StartFleet: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return f
}

// redisFleet starts an embedded Redis and a fleet of two memory instances
// that know it and share a session key, both stopped when t ends.
func redisFleet(t *testing.T) (*Fleet, *EmbeddedRedis) {
	t.Helper()
	r, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return testFleet(t, FleetConfig{Instances: 2, RedisURL: r.URL(), SessionKey: newSessionKey(), CookieName: AppCookie}), r
}

// servedBy asks url's /api/session which instance answers.
func servedBy(t *testing.T, url string) (string, error) {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url + "/api/session")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var s struct{ Instance string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return "", err
	}
	return s.Instance, nil
}

// awaitGone waits until every pid has ended, failing t after the deadline.
func awaitGone(t *testing.T, within time.Duration, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, pid := range pids {
		for !processGone(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still alive %v later", pid, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestFleetKillAndRestart(t *testing.T) {
	var mu sync.Mutex
	var changes []string
	f := testFleet(t, FleetConfig{Instances: 2, OnChange: func(i Instance) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, i.Name+" "+string(i.State))
	}})

	before := f.Instances()
	if got, want := len(before), 2; got != want {
		t.Fatalf("got %d instances, want %d", got, want)
	}
	for _, in := range before {
		if in.State != StateRunning {
			t.Errorf("%s: got state %s, want running", in.Name, in.State)
		}
		if got, err := servedBy(t, in.URL); err != nil || got != in.Name {
			t.Errorf("%s: served by %q (%v), want %q", in.URL, got, err, in.Name)
		}
	}

	killed, err := f.Kill("app-1")
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if killed.State != StateKilled || killed.PID != before[0].PID {
		t.Errorf("after Kill: got state %s pid %d, want killed pid %d", killed.State, killed.PID, before[0].PID)
	}
	if !processGone(before[0].PID) {
		t.Errorf("process %d still alive after Kill", before[0].PID)
	}
	if _, err := servedBy(t, before[0].URL); err == nil {
		t.Errorf("%s still answers after Kill", before[0].URL)
	}
	if got, err := servedBy(t, before[1].URL); err != nil || got != "app-2" {
		t.Errorf("app-2 after killing app-1: served by %q (%v)", got, err)
	}
	if _, err := f.Kill("app-1"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("second Kill: got %v, want ErrNotRunning", err)
	}

	back, err := f.Restart(context.Background(), "app-1")
	if err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if back.State != StateRunning || back.Port != before[0].Port || back.PID == before[0].PID {
		t.Errorf("after Restart: got state %s port %d pid %d, want running on port %d with a new pid", back.State, back.Port, back.PID, before[0].Port)
	}
	if got, err := servedBy(t, before[0].URL); err != nil || got != "app-1" {
		t.Errorf("%s after Restart: served by %q (%v), want app-1", before[0].URL, got, err)
	}

	mu.Lock()
	got := strings.Join(changes, ", ")
	mu.Unlock()
	// The two first "running" can come in either order.
	if !strings.HasSuffix(got, "app-1 killed, app-1 running") || strings.Count(got, "running") != 3 {
		t.Errorf("changes: got %q, want both running, then app-1 killed, app-1 running", got)
	}
}

func TestFleetUnknownInstance(t *testing.T) {
	f := testFleet(t, FleetConfig{Instances: 1})
	if _, err := f.Kill("app-9"); !errors.Is(err, ErrUnknownInstance) {
		t.Errorf("Kill(app-9): got %v, want ErrUnknownInstance", err)
	}
	if _, err := f.Restart(context.Background(), "app-9"); !errors.Is(err, ErrUnknownInstance) {
		t.Errorf("Restart(app-9): got %v, want ErrUnknownInstance", err)
	}
	if _, ok := f.Instance("app-9"); ok {
		t.Errorf("Instance(app-9): got ok, want not found")
	}
}

func TestFleetStopLeavesNoProcess(t *testing.T) {
	f := testFleet(t, FleetConfig{Instances: 3})
	var pids []int
	for _, in := range f.Instances() {
		pids = append(pids, in.PID)
	}
	if err := f.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	awaitGone(t, 5*time.Second, pids...)
	for _, in := range f.Instances() {
		if in.State != StateStopped {
			t.Errorf("%s after Stop: got %s, want stopped", in.Name, in.State)
		}
	}
	if _, err := f.Restart(context.Background(), "app-1"); !errors.Is(err, ErrFleetStopped) {
		t.Errorf("Restart after Stop: got %v, want ErrFleetStopped", err)
	}
}

func TestFleetStartFailureShowsOutput(t *testing.T) {
	_, err := StartFleet(context.Background(), FleetConfig{
		Instances: 1,
		Binary:    stickylab,
		Args:      []string{"-no-such-flag"},
	})
	if err == nil {
		t.Fatal("StartFleet with a bad flag: got nil error")
	}
	if !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("error %q does not show the child's complaint about -no-such-flag", err)
	}
}

// With the redis store and the fleet's shared session key, a session made
// on one instance is known to the other; with memory, it is not.
func TestFleetSetStoreSharesSessions(t *testing.T) {
	f, r := redisFleet(t)
	before := f.Instances()

	loggedInOnApp2 := func() bool {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
		resp, err := c.Post(before[0].URL+"/api/login", "application/json", strings.NewReader(`{"username":"ada"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login on app-1: %s", resp.Status)
		}
		// Cookies ignore the port (RFC 6265 §8.5): the jar sends app-1's
		// session cookie to app-2, as a browser behind a balancer would.
		resp, err = c.Get(before[1].URL + "/api/session")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s struct {
			Instance string `json:"instance"`
			LoggedIn bool   `json:"logged_in"`
			User     string `json:"user"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		if s.Instance != "app-2" {
			t.Fatalf("answered by %q, want app-2", s.Instance)
		}
		return s.LoggedIn && s.User == "ada"
	}

	if loggedInOnApp2() {
		t.Errorf("memory store: app-2 knows a session made on app-1")
	}
	if err := f.SetStore(context.Background(), "redis"); err != nil {
		t.Fatalf("SetStore(redis): %v", err)
	}
	for i, in := range f.Instances() {
		if in.Store != "redis" || in.State != StateRunning || in.PID == before[i].PID {
			t.Errorf("%s after SetStore: store %s state %s pid %d, want redis, running, a new pid", in.Name, in.Store, in.State, in.PID)
		}
	}
	if !loggedInOnApp2() {
		t.Errorf("redis store: app-2 does not know a session made on app-1")
	}
	// Asking for the store in use restarts nothing.
	switched := f.Instances()
	if err := f.SetStore(context.Background(), "redis"); err != nil {
		t.Fatalf("SetStore(redis) again: %v", err)
	}
	for i, in := range f.Instances() {
		if in.PID != switched[i].PID || in.State != StateRunning {
			t.Errorf("%s after SetStore to its own store: pid %d state %s, want pid %d running", in.Name, in.PID, in.State, switched[i].PID)
		}
	}
	if r.Keys() == 0 {
		t.Errorf("redis store: no key in redis after a login")
	}
}

// TestFleetSwitchToRedis compares the two ways from memory to Redis with
// real processes: the restart switch (SetStore) logs out the users of the
// memory store, since their sessions die with the processes; the in-place
// switch (MigrateToRedis) restarts nothing, logs nobody out, and from then on
// every instance knows every user.
func TestFleetSwitchToRedis(t *testing.T) {
	tests := []struct {
		name          string
		switchTo      func(f *Fleet) error
		wantLoggedIn  bool
		wantRestarted bool
	}{
		{"restart switch", func(f *Fleet) error { return f.SetStore(context.Background(), "redis") }, false, true},
		{"in-place switch", func(f *Fleet) error { return f.MigrateToRedis(context.Background()) }, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := redisFleet(t)
			before := f.Instances()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
			session := func(url string) (instance string, loggedIn bool) {
				t.Helper()
				resp, err := c.Get(url + "/api/session")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var s struct {
					Instance string `json:"instance"`
					User     string `json:"user"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
					t.Fatal(err)
				}
				return s.Instance, s.User == "ada"
			}
			resp, err := c.Post(before[0].URL+"/api/login", "application/json", strings.NewReader(`{"username":"ada"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			if err := tc.switchTo(f); err != nil {
				t.Fatalf("switch: %v", err)
			}
			for i, in := range f.Instances() {
				if restarted := in.PID != before[i].PID; in.Store != "redis" || in.State != StateRunning || restarted != tc.wantRestarted {
					t.Errorf("%s after the switch: store %s, state %s, restarted %v; want redis, running, restarted %v", in.Name, in.Store, in.State, restarted, tc.wantRestarted)
				}
			}
			if _, loggedIn := session(before[0].URL); loggedIn != tc.wantLoggedIn {
				t.Errorf("ada on app-1 after the switch: got logged in %v, want %v", loggedIn, tc.wantLoggedIn)
			}
			if name, loggedIn := session(before[1].URL); name != "app-2" || loggedIn != tc.wantLoggedIn {
				t.Errorf("ada on app-2 after the switch: got %s logged in %v, want app-2 logged in %v", name, loggedIn, tc.wantLoggedIn)
			}
		})
	}
}
