package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stickylab/lb"
)

// writeConfig writes a configuration file into the test's directory.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stickylab.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLBConfigErrors: a bad file, a flag of the flag form beside -config
// and -engine fast with an HTTPS listener exit 2 with one line saying why
// (a bad file: the file, line and column).
func TestLBConfigErrors(t *testing.T) {
	holdDefaultAddrs(t)
	good := writeConfig(t, "listener: {listen: '127.0.0.1:0', default_action: {forward: {target_group: web}}}\ntarget_groups: [{name: web, targets: [a=http://127.0.0.1:1]}]\n")
	dup := writeConfig(t, `listener:
  default_action: {forward: {target_group: web}}
  rules:
    - {priority: 10, conditions: {path_pattern: ["/a"]}, action: {forward: {target_group: web}}}
    - {priority: 10, conditions: {path_pattern: ["/b"]}, action: {forward: {target_group: web}}}
target_groups: [{name: web, targets: [a=http://127.0.0.1:1]}]
`)
	https := writeConfig(t, "listener: {listen: '127.0.0.1:0', protocol: HTTPS, certificate: {self_signed: true}, default_action: {forward: {target_group: web}}}\ntarget_groups: [{name: web, targets: [a=http://127.0.0.1:1]}]\n")
	missing := writeConfig(t, "listener: {default_action: {forward: {target_group: api}}}\ntarget_groups: [{name: web, targets: []}]\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"duplicate priority", []string{"-config", dup}, nil, dup + ":5:18: listener.rules[1].priority: 10 is already the priority of listener.rules[0]"},
		{"missing group", []string{"-config", missing}, nil, missing + ":1:"},
		{"no such file", []string{"-config", good + ".nope"}, nil, "no such file"},
		{"with -targets", []string{"-config", good, "-targets", "a=http://127.0.0.1:1"}, nil, "-config cannot be mixed with -targets"},
		{"with STICKYLAB_STICKY", []string{"-config", good}, map[string]string{"STICKYLAB_STICKY": "duration"}, "-config cannot be mixed with -sticky"},
		{"fast engine with HTTPS", []string{"-config", https, "-engine", "fast"}, nil, "std engine only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := usageErrorOf(t, runLB, tc.args, tc.env); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("message %q, want one line containing %q", msg, tc.want)
			}
		})
	}
}

// TestLBConfigRuns: stickylab lb -config with two groups routes /api/x to
// api and the rest to web, until cancelled, on both engines.
func TestLBConfigRuns(t *testing.T) {
	for _, engine := range []string{lb.EngineStd, lb.EngineFast} {
		t.Run(engine, func(t *testing.T) { testLBConfigRuns(t, engine) })
	}
}

func testLBConfigRuns(t *testing.T, engine string) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "web") }))
	defer web.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api") }))
	defer api.Close()
	path := writeConfig(t, `listener:
  listen: 127.0.0.1:0
  default_action: {forward: {target_group: web}}
  rules:
    - {priority: 10, conditions: {path_pattern: ["/api/*"]}, action: {forward: {target_group: api}}}
target_groups:
  - {name: web, targets: [w=`+web.URL+`]}
  - {name: api, targets: [a=`+api.URL+`]}
`)
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runLB(ctx, []string{"-config", path, "-admin", "127.0.0.1:0", "-engine", engine}, io.Discard, &stderr)
	}()
	m := awaitStartLine(t, &stderr, `msg="lb: serving" config=\S+ listen=(\S+)`, cancel)
	for p, want := range map[string]string{"/api/x": "api", "/": "web", "/apix": "web"} {
		resp, err := http.Get("http://" + m[1] + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("GET %s: %q, want %q", p, body, want)
		}
	}
	stopLB(t, cancel, done)
}

// TestDemoSetupFlagErrors: -setup with the flags it says itself, -setup
// with -config, and a file naming a target that is not an instance exit 2.
func TestDemoSetupFlagErrors(t *testing.T) {
	holdDefaultAddrs(t)
	stranger := writeConfig(t, "listener: {default_action: {forward: {target_group: web}}}\ntarget_groups: [{name: web, targets: [app-9=http://127.0.0.1:1]}]\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad setup", []string{"-setup", "red-black"}, "must be one of default, blog-paths, blue-green"},
		{"setup with -sticky", []string{"-setup", "blue-green", "-sticky", "app"}, "-setup blue-green says its stickiness and algorithm itself: -sticky cannot be given with it"},
		{"setup with -config", []string{"-setup", "blog-paths", "-config", stranger}, "-config and -setup cannot be given together"},
		{"config with -listen", []string{"-config", stranger, "-listen", "127.0.0.1:9"}, "-config cannot be mixed with -listen"},
		{"target not an instance", []string{"-config", stranger}, `target "app-9" is not one of the demo's instances app-1 … app-3`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := usageErrorOf(t, runDemo, tc.args, nil); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("message %q, want one line containing %q", msg, tc.want)
			}
		})
	}
}
