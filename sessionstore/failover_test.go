package sessionstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// afterPromotion bounds how long the store may keep failing once the
// sentinel reports the promoted replica as master: the client's next dial
// asks the sentinel, but a request already under way may still spend up to
// the store's Timeout (2 s) on the dead master, and a pool that failed too
// many dials only tries again once a second.
const afterPromotion = 10 * time.Second

// TestSentinelFailover proves what Sentinel is for: the sessions survive the
// loss of the master. One store, on one client that NewRedisClient made from
// a redis+sentinel:// URL, saves sessions; the master is killed (SIGKILL);
// once the sentinel has promoted the replica, the same store, on the same
// client, finds every session with its content, changes them with
// compare-and-set against the versions stored before the failover, renews
// one and creates a new one, all on the promoted replica.
//
// What a user sees during the switch (measured here with five users
// loading their sessions every 50 ms; go test -v logs it): for 2 to 3 s
// after the kill (down-after-milliseconds, 1 s here and 30 s by default,
// then the sentinel's election and promotion, about a second), every
// request that needs the store fails with an error wrapping ErrUnavailable,
// and the app answers 503 with Retry-After: 1. A request fails either after
// about 1.7 s, the client having retried to dial the address the sentinel
// still gives (the dead master's), or at once, when the client's pool has
// failed so many dials that it stops dialing and tries again only once a
// second; that pause is also why the store may work again only up to a
// second after the sentinel has switched. Nobody gets an empty or a new
// session instead of theirs, so nobody is logged out or loses a cart. Once
// the client dials the new master, every session is there; the test allows
// the store afterPromotion to get there.
//
// The replica has every write before the kill (WaitReplicated): Redis
// replicates asynchronously, so a failover can lose the writes the master
// acknowledged in the last moment before it died, and such a session would
// come back as unknown, a new one. That is Redis's trade, not the store's;
// this test is about the failover itself.
func TestSentinelFailover(t *testing.T) {
	ctx := context.Background()
	sn := redistest.StartSentinel(t, 1)
	replica := sn.Replicas[0]
	e := newURLRedisEnv(t, sentinelURL(t, sn), Config{KeyPrefix: "failover:"})
	be := e.store.be.(*redisBackend)
	direct := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer direct.Close()

	const users = 5
	cookies := make([]*http.Cookie, users)
	wants := make([][]byte, users) // each session's values, as JSON
	for i := range cookies {
		values := map[string]any{"user": fmt.Sprint("user-", i), "cart": []any{"tea", float64(i)}}
		cookies[i], _ = stored(t, e.store, values)
		wants[i] = mustJSON(t, values)
	}
	sn.WaitReplicated(t)
	for i, c := range cookies {
		if rec, err := direct.Get(ctx, be.key(cookieID(t, e.store, c))).Bytes(); err != nil || !bytes.Contains(rec, wants[i]) {
			t.Fatalf("the replica holds %q (%v) for session %d, want its values %s", rec, err, i, wants[i])
		}
	}

	killed := time.Now()
	sn.Master.Kill()
	// Meanwhile each user keeps loading their session.
	stop := make(chan struct{})
	probed := make(chan []probeResult, users)
	for i, c := range cookies {
		go func() { probed <- probeLoads(e.store, c, wants[i], killed, stop) }()
	}
	stopProbes := sync.OnceValue(func() []probeResult {
		close(stop)
		var all []probeResult
		for range users {
			all = append(all, <-probed...)
		}
		return all
	})
	defer stopProbes()
	sn.WaitMaster(t, replica)
	promoted := time.Since(killed)

	// Through the same store and client as before the kill.
	after := make([]*sessions.Session, users)
	failed := 0
	for i, c := range cookies {
		var n int
		after[i], n = loadAfterFailover(t, e.store, c, wants[i])
		failed += n
	}
	results := stopProbes()
	reportSwitch(t, results, promoted, failed)

	stale := load(t, e.store, cookies[0])
	for i, sess := range after {
		sess.Values["cart"] = append(sess.Values["cart"].([]any), "cake")
		c := mustSave(t, e.store, sess)
		want := []any{"tea", float64(i), "cake"}
		if got := load(t, e.store, c).Values["cart"]; !reflect.DeepEqual(got, want) {
			t.Errorf("session %d's cart after its change: %v, want %v", i, got, want)
		}
	}
	stale.Values["cart"] = []any{"stale"}
	if _, err := save(e.store, stale); !errors.Is(err, ErrConflict) {
		t.Errorf("saving session 0 over a version it did not load: got %v, want ErrConflict", err)
	}
	renewed := load(t, e.store, cookies[1])
	e.store.Renew(renewed)
	c := mustSave(t, e.store, renewed)
	if got := load(t, e.store, cookies[1]); !got.IsNew {
		t.Errorf("session 1's cookie from before its renewal still loads: %v", got.Values)
	}
	if got := load(t, e.store, c); got.IsNew || got.Values["user"] != "user-1" {
		t.Errorf("session 1 after its renewal: new %v, values %v; want user-1", got.IsNew, got.Values)
	}
	c, id := stored(t, e.store, map[string]any{"user": "newcomer"})
	if got := load(t, e.store, c); got.IsNew || got.Values["user"] != "newcomer" {
		t.Errorf("a session created after the failover: new %v, values %v; want newcomer", got.IsNew, got.Values)
	}
	if rec, err := direct.Get(ctx, be.key(id)).Result(); err != nil || !strings.Contains(rec, `"user":"newcomer"`) {
		t.Errorf("the promoted replica holds %q (%v) for the new session, want it", rec, err)
	}
}

// probeResult is one load during the switch.
type probeResult struct {
	at, took time.Duration // when the load started, after the kill; how long it took
	err      error         // nil when it loaded the session
	wrong    string        // what was wrong with it; empty when it was right or wrapped ErrUnavailable
}

// probeLoads loads the session of c (holding want) every 50 ms until stop
// is closed, as its user would during the switch, and returns what each
// load gave, timed from killed.
func probeLoads(s *Store, c *http.Cookie, want []byte, killed time.Time, stop <-chan struct{}) []probeResult {
	var results []probeResult
	for {
		select {
		case <-stop:
			return results
		case <-time.After(50 * time.Millisecond):
		}
		start := time.Now()
		sess, err := s.New(request(c), cookieName)
		results = append(results, probeResult{
			at: start.Sub(killed), took: time.Since(start), err: err,
			wrong: wrongLoad(sess, err, want),
		})
	}
}

// wrongLoad says what is wrong with what New returned for a session holding
// want (its values as JSON): empty when it is that session, or nothing and an
// error wrapping ErrUnavailable, which a failing store must return.
func wrongLoad(sess *sessions.Session, err error, want []byte) string {
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return ""
		}
		return fmt.Sprintf("an error not wrapping ErrUnavailable: %v", err)
	}
	if sess.IsNew {
		return "a new, empty session and no error"
	}
	if got, err := encodeValues(sess.Values); err != nil || !bytes.Equal(got, want) {
		return fmt.Sprintf("the values %s (%v), want %s", got, err, want)
	}
	return ""
}

// loadAfterFailover loads the session of c, which holds want, and returns it
// and how many loads failed first: it retries while the store fails with
// ErrUnavailable (the client finding the new master), for up to
// afterPromotion; anything else than the session or that error fails t.
func loadAfterFailover(t *testing.T, s *Store, c *http.Cookie, want []byte) (*sessions.Session, int) {
	t.Helper()
	deadline := time.Now().Add(afterPromotion)
	for failed := 0; ; failed++ {
		sess, err := s.New(request(c), cookieName)
		if wrong := wrongLoad(sess, err, want); wrong != "" {
			t.Fatalf("after the failover, New gave %s", wrong)
		}
		if err == nil {
			return sess, failed
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the failover, New still fails %v after the promotion: %v", afterPromotion, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reportSwitch fails t if a load during the switch gave anything else than
// the session or an error wrapping ErrUnavailable, and logs what users saw.
func reportSwitch(t *testing.T, results []probeResult, promoted time.Duration, failedAfter int) {
	t.Helper()
	var failed int
	var lastFailure, longest time.Duration
	firstWorked := time.Duration(math.MaxInt64)
	var example error
	for _, r := range results {
		if r.wrong != "" {
			t.Errorf("%v after the kill, New gave %s", r.at.Round(time.Millisecond), r.wrong)
		}
		if r.err != nil {
			failed++
			longest = max(longest, r.took)
			lastFailure, example = max(lastFailure, r.at+r.took), r.err
			continue
		}
		firstWorked = min(firstWorked, r.at+r.took)
	}
	if failed == 0 {
		t.Errorf("none of %d loads failed after the master was killed: did the store need it?", len(results))
	}
	t.Logf("the sentinel reported the replica as master %v after the kill; loads worked again from %v after the kill",
		promoted.Round(time.Millisecond), firstWorked.Round(time.Millisecond))
	t.Logf("during the switch, %d of %d loads failed, each with ErrUnavailable, the longest after %v, the last ending %v after the kill; a failure reads: %v",
		failed, len(results), longest.Round(time.Millisecond), lastFailure.Round(time.Millisecond), example)
	t.Logf("after the promotion, %d loads failed before every session loaded", failedAfter)
}

// mustJSON is the JSON of v.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
