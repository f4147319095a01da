// Package testenv decides what a test does when an optional dependency (a
// redis-server binary, Chromium, a Docker engine, curl) is missing: it skips,
// unless STICKYLAB_REQUIRE names the dependency, in which case the test
// fails. scripts/ci.sh sets STICKYLAB_REQUIRE=redis,chromium,docker,curl so
// that nothing can skip there.
package testenv

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Required reports whether STICKYLAB_REQUIRE names dep (comma-separated list,
// "all" names everything).
func Required(dep string) bool {
	list := strings.Split(os.Getenv("STICKYLAB_REQUIRE"), ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	return slices.Contains(list, dep) || slices.Contains(list, "all")
}

// Missing ends the test because dep is not available: a skip normally, a
// failure when STICKYLAB_REQUIRE names dep. why says what is missing and how to
// get it.
func Missing(t testing.TB, dep, why string) {
	t.Helper()
	if Required(dep) {
		t.Fatalf("%s is required (STICKYLAB_REQUIRE=%s) but missing: %s", dep, os.Getenv("STICKYLAB_REQUIRE"), why)
	}
	t.Skipf("%s missing, skipped (set STICKYLAB_REQUIRE=%s to make this a failure): %s", dep, dep, why)
}
