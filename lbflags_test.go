package main

import (
	"bytes"
	"context"
	"errors"
	"io"
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
			if tc.env != "" {
				t.Setenv("STICKYLAB_ENGINE", tc.env)
			}
			cmd, _, _ := strings.Cut(tc.name, " ")
			fs := newFlagSet(cmd)
			bf := balancerFlags(fs, tc.defaults)
			err := parseFlags(fs, tc.args, io.Discard)
			if tc.wantErr != "" {
				var ue usageError
				if !errors.As(err, &ue) || err.Error() != tc.wantErr {
					t.Fatalf("got %v, want usageError %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: got %v, want nil", err)
			}
			cfg, err := bf.config(cmd)
			if err != nil {
				t.Fatalf("config: got %v, want nil", err)
			}
			if cfg.Engine != tc.want {
				t.Errorf("got engine %q, want %q", cfg.Engine, tc.want)
			}
		})
	}
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
