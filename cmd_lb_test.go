package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLBFlagErrors checks that every bad value of lb is refused, before it
// listens (its default addresses are held meanwhile), with one line naming
// the flag, as a usageError (exit status 2).
func TestLBFlagErrors(t *testing.T) {
	holdDefaultAddrs(t)
	const target = "-targets=app-1=http://127.0.0.1:1"
	cases := []struct {
		name string
		args []string
		want string // in the one-line message
	}{
		{"reserved app cookie", []string{target, "-sticky", "app", "-app-cookie", "AWSALBX"}, `-app-cookie: names starting with AWSALB`},
		{"reserved app cookie in duration mode", []string{target, "-app-cookie", "AWSALBAPP-0"}, `"AWSALBAPP-0" for -app-cookie`},
		{"app without app cookie", []string{target, "-sticky", "app"}, "-app-cookie is required with app stickiness"},
		{"no targets", nil, "-targets is required"},
		{"bad target URL", []string{"-targets", "app-1=ftp://x"}, `invalid value "app-1=ftp://x" for -targets: target "app-1=ftp://x": want [name=]http://host:port`},
		{"target without host", []string{"-targets", "http://"}, `invalid value "http://" for -targets`},
		{"target with path", []string{"-targets", "a=http://h:1/x"}, "no path"},
		{"duplicate names", []string{"-targets", "a=http://h:1,a=http://h:2"}, `"a" for -targets: duplicate target name`},
		{"bad sticky", []string{target, "-sticky", "cookie"}, "must be one of none, duration, app"},
		{"duration too long", []string{target, "-sticky-duration", "200h"}, "must be from 1s to 168h"},
		{"threshold out of range", []string{target, "-healthy-threshold", "11"}, "must be from 2 to 10"},
		{"timeout not shorter than interval", []string{target, "-health-interval", "1s", "-health-timeout", "1s"}, "for -health-timeout: must be shorter than -health-interval"},
		{"cookie key not hex", []string{target, "-cookie-key", "xyz"}, "invalid value for -cookie-key (not repeated: it may be secret): key 1 is not hex"},
		{"cookie key wrong size", []string{target, "-cookie-key", "00112233445566778899aabbccddeeff,0011"}, "key 2 has 2 bytes"},
		{"admin on the listen port", []string{target, "-listen", ":8081"}, "-listen :8081 and -admin 127.0.0.1:8081 take the same port"},
		{"listen port out of range", []string{target, "-listen", "127.0.0.1:99999"}, `invalid value "127.0.0.1:99999" for -listen: must be host:port`},
		{"admin without port", []string{target, "-admin", "localhost"}, `invalid value "localhost" for -admin`},
		{"not a boolean", []string{target, "-passive-failover=maybe"}, `invalid value "maybe" for -passive-failover: must be true or false`},
		{"public URL not http", []string{target, "-public-url", "ftp://x"}, `invalid value "ftp://x" for -public-url`},
		{"bad engine", []string{target, "-engine", "turbo"}, `invalid value "turbo" for -engine: must be one of std, fast`},
		{"bad algorithm", []string{target, "-algorithm", "random"}, "must be one of round_robin, least_outstanding_requests"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if msg := usageErrorOf(t, runLB, tc.args, nil); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("message %q, want one line containing %q", msg, tc.want)
			}
		})
	}
}

// TestLBRuns starts the command on free ports with -health-interval 1s
// alone (the timeout's default follows it), proxies one request with a
// sticky cookie and stops it by cancelling the context.
func TestLBRuns(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer backend.Close()
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runLB(ctx, []string{"-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-targets", "web=" + backend.URL,
			"-sticky", "duration", "-cookie-key", strings.Repeat("ab", 16), "-health-interval", "1s"}, io.Discard, &stderr)
	}()
	m := awaitStartLine(t, &stderr, `msg="lb: serving" listen=(\S+) admin=(\S+)`, cancel)
	if want := "open=http://" + m[1] + "/ dashboard=http://" + m[2] + "/"; !strings.Contains(stderr.String(), want) {
		t.Errorf("got start line %q, want it to contain %q", stderr.String(), want)
	}
	resp, err := http.Get("http://" + m[1] + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" || !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "AWSALB=") {
		t.Errorf("got %q with Set-Cookie %q, want hello and an AWSALB cookie", body, resp.Header.Get("Set-Cookie"))
	}
	resp, err = http.Get("http://" + m[2] + "/api/stickiness")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"mode":"duration"`) {
		t.Errorf("admin /api/stickiness = %s, want mode duration", body)
	}
	stopLB(t, cancel, done)
}

// stopLB cancels a runLB and checks that it returns nil.
func stopLB(t *testing.T, cancel func(), done <-chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runLB returned %v after cancel, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("runLB did not return after cancel")
	}
}

// awaitStartLine waits until stderr holds a match of pattern and returns
// its submatches; it cancels and fails after 10 seconds without one.
func awaitStartLine(t *testing.T, stderr *syncBuffer, pattern string, cancel func()) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no start line in %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHealthTimeoutFollowsInterval checks the health timeout of lb and
// demo: a timeout the user gave (flag or environment) must be shorter than
// the interval, as on ALB; one left to its default becomes the shorter of
// that default and half the interval.
func TestHealthTimeoutFollowsInterval(t *testing.T) {
	cases := []struct {
		name         string
		defaults     lbDefaults
		args         []string
		env          map[string]string
		wantInterval time.Duration
		wantTimeout  time.Duration
		wantErr      string // in the one-line message; "" for none
	}{
		{"lb defaults", lbCommandDefaults(), nil, nil, 5 * time.Second, 2 * time.Second, ""},
		{"lb interval 1s alone", lbCommandDefaults(), []string{"-health-interval", "1s"}, nil, time.Second, 500 * time.Millisecond, ""},
		{"lb interval 3s alone", lbCommandDefaults(), []string{"-health-interval", "3s"}, nil, 3 * time.Second, 1500 * time.Millisecond, ""},
		{"lb interval 30s alone", lbCommandDefaults(), []string{"-health-interval", "30s"}, nil, 30 * time.Second, 2 * time.Second, ""},
		{"lb interval 1s from env", lbCommandDefaults(), nil, map[string]string{"STICKYLAB_HEALTH_INTERVAL": "1s"}, time.Second, 500 * time.Millisecond, ""},
		{"lb both given", lbCommandDefaults(), []string{"-health-interval", "1s", "-health-timeout", "300ms"}, nil, time.Second, 300 * time.Millisecond, ""},
		{"lb timeout 3s alone", lbCommandDefaults(), []string{"-health-timeout", "3s"}, nil, 5 * time.Second, 3 * time.Second, ""},
		{"lb timeout equal to interval", lbCommandDefaults(), []string{"-health-interval", "1s", "-health-timeout", "1s"}, nil, 0, 0,
			`lb: invalid value "1s" for -health-timeout: must be shorter than -health-interval (1s)`},
		{"lb timeout from env not shorter", lbCommandDefaults(), []string{"-health-interval", "1s"}, map[string]string{"STICKYLAB_HEALTH_TIMEOUT": "1500ms"}, 0, 0,
			`lb: invalid value "1500ms" for -health-timeout: must be shorter than -health-interval (1s)`},
		{"lb timeout longer than the default interval", lbCommandDefaults(), []string{"-health-timeout", "6s"}, nil, 0, 0,
			`lb: invalid value "6s" for -health-timeout: must be shorter than -health-interval (5s)`},
		{"demo defaults", demoLBDefaults(), nil, nil, time.Second, 500 * time.Millisecond, ""},
		{"demo interval 10s alone", demoLBDefaults(), []string{"-health-interval", "10s"}, nil, 10 * time.Second, 500 * time.Millisecond, ""},
		{"demo timeout 900ms alone", demoLBDefaults(), []string{"-health-timeout", "900ms"}, nil, time.Second, 900 * time.Millisecond, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cmd, _, _ := strings.Cut(tc.name, " ")
			fs := newFlagSet(cmd)
			bf := balancerFlags(fs, tc.defaults)
			if err := parseFlags(fs, tc.args, io.Discard); err != nil {
				t.Fatalf("parse: got %v, want nil", err)
			}
			cfg, err := bf.config(cmd)
			if !wantUsageError(t, err, tc.wantErr) {
				return
			}
			if cfg.HealthInterval != tc.wantInterval || cfg.HealthTimeout != tc.wantTimeout {
				t.Errorf("got interval %v timeout %v, want %v and %v", cfg.HealthInterval, cfg.HealthTimeout, tc.wantInterval, tc.wantTimeout)
			}
		})
	}
}

// TestOpenURL: the start line's open= is the public URL when one is given.
func TestOpenURL(t *testing.T) {
	for _, tc := range []struct{ public, listen, want string }{
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080/"},
		{"", "[::]:8080", "http://127.0.0.1:8080/"},
		{"http://localhost:28080/", "[::]:8080", "http://localhost:28080/"},
		{"http://:28080/", "[::]:8080", "http://127.0.0.1:28080/"},
	} {
		if got := openURL(tc.public, tc.listen); got != tc.want {
			t.Errorf("openURL(%q, %q): got %q, want %q", tc.public, tc.listen, got, tc.want)
		}
	}
}
