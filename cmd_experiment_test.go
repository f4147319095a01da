package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestExperimentStoreFailoverNeedsRedisServer: named without redis-server
// on the machine, the store-failover scenario is refused before anything
// starts, with what is missing and how to get it; it is not run empty.
func TestExperimentStoreFailoverNeedsRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := runExperiment(t.Context(), []string{"-scenario", "store-failover"}, io.Discard, io.Discard)
	var usage usageError
	switch {
	case err == nil:
		t.Fatal("experiment -scenario store-failover without redis-server: no error")
	case errors.As(err, &usage):
		t.Errorf("got a usage error %q, want an error of the machine (exit status 1)", err)
	}
	for _, want := range []string{"store-failover", "redis-server not found", "apt-get install redis-server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
