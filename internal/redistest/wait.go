package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// setupTimeout bounds what a helper waits for processes to agree (a sentinel
// to see its master, a cluster to form), on top of their starting.
const setupTimeout = 20 * time.Second

// waitUntil calls check until it returns nil, every 50ms, and fails t with
// check's last error and the output of procs when that takes longer than
// setupTimeout. check gets a context that ends at that deadline.
func waitUntil(t testing.TB, what string, procs []*Server, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: %s: not after %v: %v\n%s", what, setupTimeout, err, outputs(procs))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// outputs is the output of each of procs, headed by its address.
func outputs(procs []*Server) string {
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, "--- %s:\n%s", p, p.Output())
	}
	return b.String()
}
