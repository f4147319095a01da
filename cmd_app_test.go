package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"stickylab/internal/redistest"
	"stickylab/lab"
)

func TestAppFlagErrors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string // in the one-line message
	}{
		{"bad store", nil, []string{"-store", "disk"}, `invalid value "disk" for -store: must be one of memory, redis, cookie`},
		{"bad store from env", map[string]string{"STICKYLAB_STORE": "disk"}, nil, `invalid value "disk" for -store (from STICKYLAB_STORE): must be one of memory, redis, cookie`},
		{"idle timeout too long", nil, []string{"-idle-timeout", "200h"}, "-idle-timeout: must be from 1s to 168h"},
		{"lifetime not a duration", nil, []string{"-lifetime", "forever"}, "-lifetime: must be a duration"},
		{"bad cookie name", nil, []string{"-cookie-name", "my session"}, `invalid value "my session" for -cookie-name`},
		{"name with a space", nil, []string{"-name", "app 1"}, `invalid value "app 1" for -name`},
		{"empty session key", nil, []string{"-session-key", "k1,,k2"}, "invalid value for -session-key (not repeated: it may be secret): key 2 is empty"},
		{"bad redis URL", nil, []string{"-store", "redis", "-redis-url", "http://127.0.0.1:6379"}, `invalid value for -redis-url (not repeated: it may be secret): sessionstore: redis URL: scheme "http" not supported`},
		{"migrate from memory to memory", nil, []string{"-migrate-from", "memory"}, `invalid value "memory" for -migrate-from: only with -store redis`},
		{"migrate from disk", nil, []string{"-store", "redis", "-migrate-from", "disk"}, `invalid value "disk" for -migrate-from: must be one of memory`},
		{"stray argument", nil, []string{"now"}, `unexpected argument "now"`},
		{"listen port out of range", nil, []string{"-listen", ":70000"}, `invalid value ":70000" for -listen`},
		{"bad parent PID", map[string]string{lab.ParentPIDEnv: "lab"}, nil, `invalid value "lab" for ` + lab.ParentPIDEnv},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var logged bytes.Buffer
			err := runApp(context.Background(), tc.args, io.Discard, &logged)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("got err %v, want a usageError (exit 2)", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("got message %q, want one line containing %q", msg, tc.want)
			}
			// The error is the one line: no warning logged before it (the
			// random session key's, say).
			if logged.Len() > 0 {
				t.Errorf("logged before the error: %s", logged.String())
			}
		})
	}
}

func TestAppHelp(t *testing.T) {
	var out strings.Builder
	if err := runApp(context.Background(), []string{"-h"}, &out, io.Discard); err != nil {
		t.Fatalf("got err %v, want nil", err)
	}
	for _, flag := range []string{"-listen", "-name", "-store", "-redis-url", "-session-key", "-cookie-name", "-idle-timeout", "-lifetime"} {
		if !strings.Contains(out.String(), flag+" ") {
			t.Errorf("help lacks %s:\n%s", flag, out.String())
		}
	}
}

// TestAppRuns runs the command in-process with its store chosen by the
// environment, serves a request and stops it by cancelling the context.
func TestAppRuns(t *testing.T) {
	tests := []struct {
		name      string
		env       func(t *testing.T) map[string]string
		args      []string
		wantStore string
		wantLog   string // waited for: some lines come from other goroutines
		wantDown  bool   // Redis is down: /readyz answers 503
	}{
		{"redis from environment", func(t *testing.T) map[string]string {
			return map[string]string{"STICKYLAB_STORE": "redis", "STICKYLAB_REDIS_URL": "redis://" + miniredis.RunT(t).Addr() + "/0"}
		}, []string{"-session-key", "a-long-enough-lab-secret-0123456789"}, "redis", "session cache off: Redis refuses client tracking", false},
		{"redis with its cache", func(t *testing.T) map[string]string {
			return map[string]string{"STICKYLAB_REDIS_URL": redistest.Start(t).URL()}
		}, []string{"-store", "redis", "-session-key", "a-long-enough-lab-secret-0123456789"}, "redis", "session cache: connected", false},
		{"cookie store", func(*testing.T) map[string]string { return nil },
			[]string{"-store", "cookie", "-session-key", "a-long-enough-lab-secret-0123456789"}, "cookie", "", false},
		{"redis migrating from memory", func(t *testing.T) map[string]string {
			return map[string]string{"STICKYLAB_REDIS_URL": "redis://" + miniredis.RunT(t).Addr() + "/0"}
		}, []string{"-store", "redis", "-migrate-from", "memory", "-redis-cache=false", "-session-key", "a-long-enough-lab-secret-0123456789"}, "redis", "", false},
		{"compare-and-set off", func(*testing.T) map[string]string { return nil },
			[]string{"-cas=false", "-session-key", "a-long-enough-lab-secret-0123456789"}, "memory", "-cas=false: compare-and-set is off", false},
		{"memory with a random key", func(*testing.T) map[string]string { return nil }, nil, "memory",
			"sessions will not survive a restart or move between instances", false},
		{"redis down at start", func(*testing.T) map[string]string {
			return map[string]string{"STICKYLAB_REDIS_URL": "redis://127.0.0.1:1/0"}
		}, []string{"-store", "redis"}, "redis", "session store not reachable yet", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env(t) {
				t.Setenv(k, v)
			}
			var stderr syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			args := append([]string{"-listen", "127.0.0.1:0", "-name", "app-9"}, tt.args...)
			go func() { done <- runApp(ctx, args, io.Discard, &stderr) }()

			re := regexp.MustCompile(`msg="app: serving" name=app-9 listen=(\S+) store=(\S+)`)
			var m []string
			deadline := time.Now().Add(10 * time.Second)
			for m = re.FindStringSubmatch(stderr.String()); m == nil; m = re.FindStringSubmatch(stderr.String()) {
				select {
				case err := <-done:
					t.Fatalf("runApp returned %v before serving; log:\n%s", err, stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("no start line in %q", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if m[2] != tt.wantStore {
				t.Errorf("start line says store=%s, want %s", m[2], tt.wantStore)
			}
			if tt.wantDown {
				// Redis is down: ready must say so, the process stays up.
				resp, err := http.Get("http://" + m[1] + "/readyz")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("readyz with Redis down: got %d, want 503", resp.StatusCode)
				}
			} else {
				resp, err := http.Get("http://" + m[1] + "/api/session")
				if err != nil {
					t.Fatal(err)
				}
				var v struct{ Instance, Store string }
				err = json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
				if err != nil || v.Instance != "app-9" || v.Store != tt.wantStore {
					t.Errorf("GET /api/session: got %+v (err %v), want instance app-9, store %s", v, err, tt.wantStore)
				}
			}
			for deadline := time.Now().Add(10 * time.Second); tt.wantLog != "" && !strings.Contains(stderr.String(), tt.wantLog); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Errorf("log lacks %q:\n%s", tt.wantLog, stderr.String())
					break
				}
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("runApp returned %v after cancel, want nil", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("runApp did not return after cancel")
			}
		})
	}
}

// TestAppExitsWhenOrphaned: with lab.ParentPIDEnv set, the app serves while
// that process is its parent and shuts down by itself once it is not. The
// test process is never its own parent, so its PID stands for a dead lab.
func TestAppExitsWhenOrphaned(t *testing.T) {
	for _, tt := range []struct {
		name      string
		parent    int
		wantAlive bool
	}{
		{"parent alive", os.Getppid(), true},
		{"parent gone", os.Getpid(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(lab.ParentPIDEnv, strconv.Itoa(tt.parent))
			var stderr syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- runApp(ctx, []string{"-listen", "127.0.0.1:0"}, io.Discard, &stderr) }()
			select {
			case err := <-done:
				if tt.wantAlive {
					t.Fatalf("runApp returned %v with its parent alive; log:\n%s", err, stderr.String())
				}
				if err != nil || !strings.Contains(stderr.String(), "parent process gone") {
					t.Errorf("runApp returned %v, want nil after logging the parent gone; log:\n%s", err, stderr.String())
				}
				return
			case <-time.After(3 * appParentPoll):
			}
			if !tt.wantAlive {
				t.Fatalf("runApp still running %v after its parent was gone", 3*appParentPoll)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runApp returned %v after cancel, want nil", err)
			}
		})
	}
}
