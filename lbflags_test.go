package main

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"stickylab/lb"
)

// TestEngineFlag checks -engine of lb and demo: std unless the command line
// or STICKYLAB_ENGINE says fast, and one line naming the flag for any other
// value.
func TestEngineFlag(t *testing.T) {
	cases := []struct {
		name     string
		defaults lbDefaults
		args     []string
		env      string
		want     string
		wantErr  string
	}{
		{"lb default", lbCommandDefaults(), nil, "", lb.EngineStd, ""},
		{"demo default", demoLBDefaults(), nil, "", lb.EngineStd, ""},
		{"lb fast", lbCommandDefaults(), []string{"-engine", "fast"}, "", lb.EngineFast, ""},
		{"demo fast from env", demoLBDefaults(), nil, "fast", lb.EngineFast, ""},
		{"lb flag over env", lbCommandDefaults(), []string{"-engine", "std"}, "fast", lb.EngineStd, ""},
		{"lb unknown", lbCommandDefaults(), []string{"-engine", "turbo"}, "", "", `lb: invalid value "turbo" for -engine: must be one of std, fast`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := balancerConfig(t, tc.name, tc.defaults, tc.args, "STICKYLAB_ENGINE", tc.env)
			if !wantUsageError(t, err, tc.wantErr) {
				return
			}
			if cfg.Engine != tc.want {
				t.Errorf("got engine %q, want %q", cfg.Engine, tc.want)
			}
		})
	}
}

// balancerConfig parses args as the balancer flags of the command that
// name starts with (lb or demo), with defaults d and the environment
// variable env set to value unless value is empty.
func balancerConfig(t *testing.T, name string, d lbDefaults, args []string, env, value string) (lb.Config, error) {
	t.Helper()
	if value != "" {
		t.Setenv(env, value)
	}
	cmd, _, _ := strings.Cut(name, " ")
	fs := newFlagSet(cmd)
	bf := balancerFlags(fs, d)
	if err := parseFlags(fs, args, io.Discard); err != nil {
		return lb.Config{}, err
	}
	return bf.config(cmd)
}

// TestEngineInHelp: lb -h and demo -h show -engine with its default, std.
func TestEngineInHelp(t *testing.T) {
	for _, cmd := range []string{"lb", "demo"} {
		t.Run(cmd, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), []string{cmd, "-h"}, &out, io.Discard); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			_, after, ok := strings.Cut(out.String(), "\n  -engine value\n")
			if line, _, _ := strings.Cut(after, "\n  -"); !ok || !strings.Contains(line, "(default std)") {
				t.Errorf("got help without -engine (default std):\n%s", out.String())
			}
		})
	}
}

// TestAdminHostFlag checks -admin-host: comma-separated names into
// lb.Config.AdminHosts, from the command line or STICKYLAB_ADMIN_HOST, and
// one line naming the flag for a value that is not a host.
func TestAdminHostFlag(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     string
		want    []string
		wantErr string
	}{
		{"lb none", nil, "", nil, ""},
		{"lb two", []string{"-admin-host", "lb, 10.0.0.5"}, "", []string{"lb", "10.0.0.5"}, ""},
		{"demo from env", nil, "dash.internal", []string{"dash.internal"}, ""},
		{"lb a URL", []string{"-admin-host", "http://lb"}, "", nil,
			`lb: invalid value "http://lb" for -admin-host: must be a host name or address, e.g. lb.internal or 10.0.0.5 (no scheme, path or list)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := balancerConfig(t, tc.name, lbCommandDefaults(), tc.args, "STICKYLAB_ADMIN_HOST", tc.env)
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			cmd, _, _ := strings.Cut(tc.name, " ")
			err = lbConfigError(cmd, cfg.CheckSettings())
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("check: got %v, want nil", err)
			}
			if !slices.Equal(cfg.AdminHosts, tc.want) {
				t.Errorf("got admin hosts %q, want %q", cfg.AdminHosts, tc.want)
			}
		})
	}
}
