package deploy_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// failoverTimeout bounds the Sentinels' switch after the primary's kill:
// 2 s of silence (down-after-milliseconds), the vote and the promotion take
// a few seconds; the bound is generous for a busy machine, and only decides
// how long a broken failover takes to be reported.
const failoverTimeout = 90 * time.Second

// sentinelInfo is what a Sentinel says of itself and the primary it
// monitors (INFO sentinel), asked through sentinel1's redis-cli.
func (s *stack) sentinelInfo(t *testing.T, sentinel string) (string, error) {
	out, err := s.compose(t, commandTimeout, "exec", "-T", "sentinel1", "redis-cli", "-h", sentinel, "-p", "26379", "info", "sentinel")
	if err != nil {
		return "", fmt.Errorf("%s: %v: %s", sentinel, err, tail(out, 3))
	}
	return strings.ReplaceAll(out, "\r", ""), nil
}

// haFailover is the ha profile's promise: with a replica and three
// Sentinels, `docker compose kill redis` (the primary, SIGKILL) costs the
// users a few seconds of 503 on the requests that need the store, never an
// empty session, and everyone is still logged in after the switch.
func haFailover(t *testing.T, s *stack) {
	s.upProfile(t, "ha", "redis", "app")

	// Before the kill: every Sentinel knows the primary, its replica and
	// the two other Sentinels (they learn them within seconds of starting),
	// and none is in TILT mode, where a Sentinel acts on nothing for 30 s:
	// it enters it when its clock jumps or it was not scheduled for 2 s, as
	// happens on a busy machine when containers start.
	var last string
	ok := poll(t, failoverTimeout, func() bool {
		for _, sn := range []string{"sentinel1", "sentinel2", "sentinel3"} {
			info, err := s.sentinelInfo(t, sn)
			if err != nil {
				last = err.Error()
				return false
			}
			if !strings.Contains(info, "sentinel_tilt:0\n") ||
				!strings.Contains(info, "master0:name=stickylab,status=ok,address=redis:6379,slaves=1,sentinels=3\n") {
				last = sn + ": " + info
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("the Sentinels do not all know the primary redis, its replica and each other, out of TILT, within %v: %s", failoverTimeout, last)
	}

	u := newUser(t, s)
	served := u.login(t, "hedy")
	u.stuck(t, served, 2)
	before, _, err := u.do(http.MethodGet, "/api/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Redis replicates asynchronously: WAIT until the replica has every
	// write so far, the session included, or a failover could lose it
	// (Redis's trade, not what this test is about).
	if got := strings.TrimSpace(s.must(t, "exec", "-T", "redis", "redis-cli", "WAIT", "1", "5000")); got != "1" {
		t.Fatalf("WAIT 1 5000 on the primary: %q replicas have the writes, want 1", got)
	}

	s.must(t, "kill", "redis")
	// Nothing but the user's requests until the switch: a docker exec
	// meanwhile can stall the Sentinels into TILT mode on a busy machine.
	// A 200 that counted the visit has written the session: to the
	// promoted replica, the old primary being dead.
	start := time.Now()
	var unavailable, answered int
	var got sessionView
	ok = poll(t, failoverTimeout, func() bool {
		v, status, err := u.do(http.MethodGet, "/api/session", nil)
		switch {
		case status == http.StatusServiceUnavailable:
			unavailable++ // the store is away: the app says so
			return false
		case err != nil:
			t.Errorf("during the failover: %v; want 200 logged in, or 503", err)
			return false
		case !v.LoggedIn || v.User != "hedy":
			t.Fatalf("during the failover, %s served logged_in=%v user=%q: an empty session, the user logged out", v.Instance, v.LoggedIn, v.User)
		}
		answered++
		got = v
		return v.Visits > before.Visits
	})
	took := time.Since(start).Round(100 * time.Millisecond)
	t.Logf("after the kill of the primary: %d answers logged in, %d 503 (store unavailable), until a visit was counted after %v",
		answered, unavailable, took)
	if !ok || took > 20*time.Second {
		// Slower than the few seconds the Sentinels' settings make: what
		// they said, for whoever looks into it.
		out, _ := s.compose(t, commandTimeout, "logs", "--no-color", "-t", "sentinel1", "sentinel2", "sentinel3")
		t.Logf("the Sentinels' logs:\n%s", out)
	}
	if !ok {
		t.Fatalf("no visit counted within %v of the kill; last answer %+v", failoverTimeout, got)
	}
	if info, err := s.sentinelInfo(t, "sentinel1"); err != nil || !strings.Contains(info, "address=redis-replica:6379") {
		t.Errorf("after the failover, sentinel1 says (%v):\n%s\nwant the primary at redis-replica:6379", err, info)
	}
	if _, _, err := u.do(http.MethodPost, "/api/cart", map[string]string{"item": "tea"}); err != nil {
		t.Fatalf("a write after the failover: %v", err)
	}
	after, _, err := u.do(http.MethodGet, "/api/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !after.LoggedIn || after.User != "hedy" || after.Visits <= before.Visits || !slices.Contains(after.Cart, "tea") {
		t.Errorf("after the failover: logged_in=%v user=%q visits %d cart %q; want logged in as hedy, more than %d visits, tea in the cart",
			after.LoggedIn, after.User, after.Visits, after.Cart, before.Visits)
	}
	if keys := strings.Fields(s.must(t, "exec", "-T", "redis-replica", "redis-cli", "--scan")); len(keys) == 0 {
		t.Error("the promoted replica has no keys; want the session")
	}
}
