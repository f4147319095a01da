package main

import (
	"context"
	"errors"
	"io"
	"testing"
)

// TestBadValueWording checks that a bad value reads the same whatever the
// command, the kind of flag and the check that refuses it: the command,
// "invalid value", the value as given, the flag, what it allows, and
// durations as a user writes them (168h, not 168h0m0s).
func TestBadValueWording(t *testing.T) {
	const target = "-targets=a=http://127.0.0.1:1"
	cases := []struct {
		name string
		args []string // the command first
		env  map[string]string
		want string
	}{
		{"choice", []string{"demo", "-store", "postgres"}, nil,
			`demo: invalid value "postgres" for -store: must be one of memory, redis, cookie`},
		{"choice from the environment", []string{"app"}, map[string]string{"STICKYLAB_STORE": "disk"},
			`app: invalid value "disk" for -store (from STICKYLAB_STORE): must be one of memory, redis, cookie`},
		{"boolean", []string{"lb", target, "-passive-failover=maybe"}, nil,
			`lb: invalid value "maybe" for -passive-failover: must be true or false`},
		{"whole number", []string{"experiment", "-requests", "ten"}, nil,
			`experiment: invalid value "ten" for -requests: must be a whole number from 1 to 1000`},
		{"duration out of range", []string{"lb", target, "-sticky-duration", "200h"}, nil,
			`lb: invalid value "200h" for -sticky-duration: must be from 1s to 168h`},
		{"not a duration", []string{"lb", target, "-health-interval", "often"}, nil,
			`lb: invalid value "often" for -health-interval: must be a duration such as 30s, 5m or 24h, from 1s to 5m`},
		{"duration against another flag", []string{"demo", "-health-interval", "2s", "-health-timeout", "2000ms"}, nil,
			`demo: invalid value "2000ms" for -health-timeout: must be shorter than -health-interval (2s)`},
		{"address", []string{"lb", target, "-listen", "127.0.0.1:99999"}, nil,
			`lb: invalid value "127.0.0.1:99999" for -listen: must be host:port (the host may be empty, the port 0 to 65535)`},
		{"checked by the balancer", []string{"lb", target, "-health-path", "healthz"}, nil,
			`lb: invalid value "healthz" for -health-path: must start with /`},
		{"checked by the app", []string{"app", "-cookie-name", "a b"}, nil,
			"app: invalid value \"a b\" for -cookie-name: must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)"},
		{"secret", []string{"lb", target, "-cookie-key", "xyz"}, nil,
			`lb: invalid value for -cookie-key (not repeated: it may be secret): key 1 is not hex: want hex keys of 32, 48 or 64 digits, comma-separated`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := usageErrorOf(t, run, tc.args, tc.env); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// usageErrorOf runs run with args and the environment variables env, with a
// context already cancelled (were anything to start by mistake, it stops at
// once), and returns the message of the usageError (exit status 2) that it
// must return.
func usageErrorOf(t *testing.T, run func(context.Context, []string, io.Writer, io.Writer) error, args []string, env map[string]string) string {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, args, io.Discard, io.Discard)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want a usageError (exit 2)", err)
	}
	return err.Error()
}

// wantUsageError checks err against want: a usageError with exactly that
// message, or no error when want is empty. It reports whether err is nil, so
// that a case expecting an error stops there.
func wantUsageError(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		return true
	}
	var ue usageError
	if !errors.As(err, &ue) || err.Error() != want {
		t.Fatalf("got %v, want usageError %q", err, want)
	}
	return false
}
