package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// TestDemoAndExperimentFlagErrors checks that every bad value of the demo and
// experiment commands is refused before anything starts, with one line that
// names the flag and what is allowed, as a usageError (exit status 2). The
// demo's default addresses are taken meanwhile, as on a machine where
// another program has them: a case that listened before checking would get
// "address already in use" instead of its flag error.
func TestDemoAndExperimentFlagErrors(t *testing.T) {
	holdDefaultAddrs(t)
	cases := []struct {
		name string
		run  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
		env  map[string]string
		want string
	}{
		{"demo bad store", runDemo, []string{"-store", "postgres"}, nil, `invalid value "postgres" for -store: must be one of memory, redis, cookie`},
		{"demo migrate without redis", runDemo, []string{"-migrate-from", "memory"}, nil, `invalid value "memory" for -migrate-from: only with -store redis`},
		{"demo bad sticky", runDemo, []string{"-sticky", "cookie"}, nil, "-sticky: must be one of none, duration, app"},
		{"demo reserved app cookie", runDemo, []string{"-app-cookie", "AWSALBAPP-1"}, nil, "-app-cookie"},
		{"demo no instances", runDemo, []string{"-instances", "0"}, nil, "-instances: must be from 1 to 9"},
		{"demo too many instances", runDemo, []string{"-instances", "10"}, nil, "-instances: must be from 1 to 9"},
		{"demo no balancer node", runDemo, []string{"-lb-nodes", "0"}, nil, "-lb-nodes: must be from 1 to 3"},
		{"demo too many balancer nodes", runDemo, []string{"-lb-nodes", "4"}, nil, "-lb-nodes: must be from 1 to 3"},
		{"demo timeout not shorter than interval", runDemo, []string{"-health-interval", "1s", "-health-timeout", "1s"}, nil, "-health-timeout"},
		{"demo health path without a slash", runDemo, []string{"-health-path", "healthz"}, nil, `"healthz" for -health-path: must start with /`},
		{"demo bad redis url", runDemo, []string{"-store", "redis", "-redis-url", "http://127.0.0.1:6379"}, nil, "-redis-url"},
		{"demo bad cookie key", runDemo, []string{"-cookie-key", "nothex"}, nil, "-cookie-key"},
		{"demo stray argument", runDemo, []string{"redis"}, nil, `unexpected argument "redis"`},
		{"demo listen on the admin port", runDemo, []string{"-listen", "127.0.0.1:8081"}, nil, "-listen 127.0.0.1:8081 and -admin 127.0.0.1:8081 take the same port"},
		{"demo admin on every interface", runDemo, []string{"-listen", "127.0.0.1:9000", "-admin", ":9000"}, nil, "take the same port"},
		{"demo bad env", runDemo, nil, map[string]string{"STICKYLAB_STORE": "disk"}, `invalid value "disk" for -store (from STICKYLAB_STORE): must be one of memory, redis, cookie`},
		{"experiment no users", runExperiment, []string{"-users", "0"}, nil, "-users: must be from 1 to 500"},
		{"experiment one instance", runExperiment, []string{"-instances", "1"}, nil, "-instances: must be from 2 to 9"},
		{"experiment bad sticky", runExperiment, []string{"-sticky", "always"}, nil, "must be one of all, none, duration, app"},
		{"experiment duration too long", runExperiment, []string{"-sticky-duration", "2m"}, nil, "-sticky-duration: must be from 1s to 1m"},
		{"experiment unknown scenario", runExperiment, []string{"-scenario", "crash,bogus"}, nil, `invalid value "crash,bogus" for -scenario: unknown scenario "bogus"; available: crash, scale-out, rolling-deploy, concurrent, migrate, stateless, locality`},
		{"experiment not a number", runExperiment, []string{"-requests", "ten"}, nil, "-requests: must be a whole number"},
		{"experiment bad boolean env", runExperiment, nil, map[string]string{"STICKYLAB_PASSIVE_FAILOVER": "nah"}, `invalid value "nah" for -passive-failover (from STICKYLAB_PASSIVE_FAILOVER): must be true or false`},
		{"experiment bad env", runExperiment, nil, map[string]string{"STICKYLAB_PARALLEL": "7"}, `invalid value "7" for -parallel (from STICKYLAB_PARALLEL): must be from 1 to 6`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if msg := usageErrorOf(t, tc.run, tc.args, tc.env); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("message %q, want one line containing %q", msg, tc.want)
			}
		})
	}
}

// holdDefaultAddrs listens on the default addresses of demo and lb,
// 127.0.0.1:8080 and 127.0.0.1:8081, until the test ends, those that are
// free: the others are held by another program already, which serves the
// test as well.
func holdDefaultAddrs(t *testing.T) {
	t.Helper()
	for _, addr := range []string{"127.0.0.1:8080", "127.0.0.1:8081"} {
		if ln, err := net.Listen("tcp", addr); err == nil {
			t.Cleanup(func() { ln.Close() })
		}
	}
}

// TestHelpListsFlagsWithDefaults checks -h of every command: exit 0, the
// flags with their defaults on stdout.
func TestHelpListsFlagsWithDefaults(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"demo", "-h"}, []string{"-listen", `(default "127.0.0.1:8080")`, "-store", "(default memory)", "-sticky", "(default app)"}},
		{[]string{"experiment", "-h"}, []string{"-users", "(default 30)", "-json"}},
		{[]string{"app", "-h"}, []string{"-session-key", `(default "stickylab_session")`}},
		{[]string{"lb", "-h"}, []string{"-targets", "(default none)", "-deregistration-delay",
			"when not given, the shorter of 2s and half of -health-interval (default 2s)", "(1s to 168h) (default 24h)\n"}},
		{[]string{"demo", "-h"}, []string{"when not given, the shorter of 500ms and half of -health-interval (default 500ms)"}},
		{[]string{"help"}, []string{"demo", "experiment", "healthcheck", "STICKYLAB_"}},
		{[]string{"-h"}, []string{"Commands:", "experiment", "Usage: stickylab demo", "-store", "(default memory)"}},
		{[]string{"healthcheck", "-h"}, []string{"Usage: stickylab healthcheck URL [flags]", "-timeout"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tc.args, &out, io.Discard); err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	err := run(context.Background(), []string{"deploy"}, io.Discard, io.Discard)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown command "deploy"`) {
		t.Fatalf("err = %v, want usageError naming the command", err)
	}
}
