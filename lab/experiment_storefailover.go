package lab

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"stickylab/lb"
)

// The store-failover scenario's rows: the Redis behind the instances.
const (
	redisSingle    = "single"     // one redis-server, no persistence
	redisSingleAOF = "single+aof" // one redis-server, append-only file
	redisSentinel  = "sentinel"   // RedisHA: primary, replica, three Sentinels
)

// The store-failover measures.
const (
	m503       = "503s"
	m503Window = "503 window s"
	m503Wait   = "503 wait s"
	mStoreBack = "store back s"
)

// singleRestartAfter is how long a killed single Redis stays dead before
// it is started again, as a supervisor (systemd, Docker's restart policy)
// would after its back-off; the Sentinels need no one.
const singleRestartAfter = 2 * time.Second

// ScenarioStoreFailover is the name of the scenario that kills the Redis
// primary; it needs a real redis-server (LookRedisServer).
const ScenarioStoreFailover = "store-failover"

func storeFailoverScenario() Scenario {
	s := tableScenario{name: ScenarioStoreFailover,
		about: "the Redis primary dies under logged-in users: a single redis-server restarted, with and without AOF, against Sentinel promoting a replica"}
	for _, v := range []string{redisSingle, redisSingleAOF, redisSentinel} {
		s.rows = append(s.rows, Row{Sticky: lb.StickyDuration, Store: "redis", Variant: v})
	}
	return Scenario{Name: s.name, About: s.about, Run: func(ctx context.Context, cfg ExperimentConfig) (Outcome, error) {
		start := time.Now()
		var rows []Row
		for _, r := range s.rows {
			if cfg.selected(r.Sticky, r.Store) {
				rows = append(rows, r)
			}
		}
		t := storeFailoverTable(cfg)
		if _, err := LookRedisServer(); err != nil && len(rows) > 0 {
			// Named alone, the command refuses to start without
			// redis-server; in a run of every scenario the others still
			// run, and this table says why it has no row.
			t.Warnings = append(t.Warnings, "this scenario needs a real redis-server (and its Sentinel mode); no row was run: "+err.Error())
			rows = nil
		}
		rows, err := runRows(ctx, cfg, s.name, rows, func(ctx context.Context, r *Row) error {
			return storeFailoverRow(ctx, cfg, r)
		})
		if err != nil {
			return nil, err
		}
		t.Rows = append([]Row{}, rows...) // JSON: [] rather than null
		t.Findings = append([]string{}, storeFailoverFindings(rows, cfg.Users)...)
		t.Elapsed = Duration(time.Since(start).Round(time.Millisecond))
		return t, nil
	}}
}

func storeFailoverTable(cfg ExperimentConfig) *Table {
	return &Table{
		Setup: fmt.Sprintf("%d users, each making a request every %v while the Redis primary is SIGKILLed and until the store is back, %d instances with -store redis",
			cfg.Users, thinkTime, cfg.Instances),
		Variant: "redis",
		Columns: []string{m503, m503Window, m503Wait, mStoreBack},
		Legend: []string{
			"redis: single (one redis-server, no persistence, restarted " + singleRestartAfter.String() + " after the kill), " +
				"single+aof (the same with appendonly yes) or sentinel (a primary, a replica and three Sentinels; nothing restarted)",
			"503s: answers 503 (the instance could not reach the store)",
			"503 window: from the sending of the first request answered 503 to the last 503",
			"503 wait: the longest a 503 took to come (the instance's Redis client retries before it gives up)",
			"store back: from the kill to the store answering again (single: restarted and answering PING; sentinel: the replica promoted)",
		},
		Method: "Each row starts its own Redis, fleet and balancer. The users log in and make N answered GET /api/session. " +
			"Then the Redis primary is killed with SIGKILL (sentinel: after every Sentinel reports the primary, the replica and the other two, out of TILT mode) " +
			"while every user keeps making a request every " + thinkTime.String() + ", until the store is back; every user then makes N more. " +
			"A user whose answer says logged out logs in again and is counted once.",
	}
}

// storeFailoverRow runs one row: its Redis, its rig, the crowd.
func storeFailoverRow(ctx context.Context, cfg ExperimentConfig, row *Row) error {
	// ready, when set, waits until a kill would measure the failover;
	// kill kills the primary and returns when the store is back.
	var ready, kill func(context.Context) error
	switch row.Variant {
	case redisSingle, redisSingleAOF:
		s, err := startSingleRedis(ctx, row.Variant == redisSingleAOF)
		if err != nil {
			return err
		}
		defer s.Close()
		cfg.RedisURL = s.URL()
		kill = func(ctx context.Context) error {
			if err := s.kill(); err != nil {
				return err
			}
			pause(ctx, singleRestartAfter)
			return s.start(ctx)
		}
	case redisSentinel:
		h, err := StartRedisHA(ctx)
		if err != nil {
			return err
		}
		defer h.Close()
		cfg.RedisURL = h.URL()
		ready = h.awaitSteady
		kill = func(ctx context.Context) error {
			killed, err := h.KillPrimary(ctx)
			if err != nil {
				return err
			}
			return h.awaitPromoted(ctx, killed)
		}
	default:
		return fmt.Errorf("store-failover: unknown row %q", row.Variant)
	}
	r, err := startRig(ctx, cfg, rigConfig{Sticky: row.Sticky, Store: row.Store}, row.Label())
	if err != nil {
		return err
	}
	defer r.Close()
	clock := &statusClock{next: r.transport, status: http.StatusServiceUnavailable}
	users, err := newCrowdFrom(1, cfg.Users, r.base, clock)
	if err != nil {
		return err
	}
	before := merge(loginAll(ctx, users, cfg.warm()), phase(ctx, users, cfg.Requests, cfg.warm()))
	if ready != nil {
		if err := ready(ctx); err != nil {
			return err
		}
	}
	var back time.Duration
	during, err := whileWarm(ctx, users, thinkTime, func() error {
		began := time.Now()
		err := kill(ctx)
		back = time.Since(began)
		return err
	})
	if err != nil {
		return err
	}
	after := phase(ctx, users, cfg.Requests, cfg.warm())
	row.count(merge(before, during, after))
	n, window, longest := clock.seen()
	row.set(m503, float64(n))
	row.set(m503Window, window.Round(100*time.Millisecond).Seconds())
	row.set(m503Wait, longest.Round(100*time.Millisecond).Seconds())
	row.set(mStoreBack, back.Round(100*time.Millisecond).Seconds())
	return nil
}

// statusClock is the crowd's transport, noting when the requests answered
// with one status were sent and answered: how long the users saw the 503s
// of an outage last, and how long one took to come.
type statusClock struct {
	next   http.RoundTripper
	status int

	mu          sync.Mutex // guards what follows
	n           int
	first, last time.Time     // the first such request sent, the last answered
	longest     time.Duration // the longest such request took
}

var _ http.RoundTripper = (*statusClock)(nil)

// RoundTrip sends req with next and notes the answer's status.
func (c *statusClock) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := c.next.RoundTrip(req)
	if err == nil && resp.StatusCode == c.status {
		now := time.Now()
		c.mu.Lock()
		c.n++
		if c.first.IsZero() || sent.Before(c.first) {
			c.first = sent
		}
		c.last = now
		c.longest = max(c.longest, now.Sub(sent))
		c.mu.Unlock()
	}
	return resp, err
}

// seen returns how many answers had the status, from the sending of the
// first such request to the answer of the last (zero when none), and the
// longest one took.
func (c *statusClock) seen() (n int, window, longest time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.last.Sub(c.first), c.longest
}

// storeFailoverFindings says, from the numbers, what each row's users saw
// and how the rows compare.
func storeFailoverFindings(rows []Row, users int) []string {
	var out []string
	by := map[string]Row{}
	for _, r := range rows {
		by[r.Variant] = r
		what := "the single redis-server (no persistence), restarted after " + singleRestartAfter.String() + ","
		switch r.Variant {
		case redisSingleAOF:
			what = "the single redis-server with AOF, restarted after " + singleRestartAfter.String() + ","
		case redisSentinel:
			what = "the primary of the Sentinel setup"
		}
		s := fmt.Sprintf("Killing %s gave %s 503 over %.1f s, each after up to %.1f s; the store was back %.1f s after the kill",
			what, plural503(int(r.M(m503))), r.M(m503Window), r.M(m503Wait), r.M(mStoreBack))
		if r.LoggedOut == 0 {
			s += ", and nobody was logged out."
		} else {
			s += fmt.Sprintf(", and %s logged out.", ofUsers(r.LoggedOut, users))
		}
		if late := r.M(m503Window) - r.M(mStoreBack); late >= 0.3 {
			s += fmt.Sprintf(" The 503s went on about %.1f s after the store was back: the instances took that long to reach it again.", late)
		}
		if other := r.Failed - int(r.M(m503)); other > 0 {
			s += fmt.Sprintf(" %s failed otherwise: %s.", requests(other), failedWhy(without503(r.FailedBy)))
		}
		out = append(out, s)
	}
	single, aof, ha := by[redisSingle], by[redisSingleAOF], by[redisSentinel]
	if single.Variant != "" && single.LoggedOut > 0 && (aof.Variant == "" || aof.LoggedOut < single.LoggedOut) {
		out = append(out, "A Redis restarted without persistence starts empty: the sessions it held are gone, and so are their users' logins.")
	}
	if aof.Variant != "" && single.Variant != "" && aof.LoggedOut < single.LoggedOut {
		out = append(out, fmt.Sprintf("With AOF the restarted Redis read the sessions back from its file: %d users logged out instead of %d, for the same %s of downtime.",
			aof.LoggedOut, single.LoggedOut, singleRestartAfter))
	}
	if ha.Variant != "" {
		for _, r := range []Row{single, aof} {
			if r.Variant == "" {
				continue
			}
			than := "about as long as"
			switch d := ha.M(m503Window) - r.M(m503Window); {
			case d < -0.5:
				than = "shorter than"
			case d > 0.5:
				than = "longer than"
			}
			out = append(out, fmt.Sprintf("The Sentinel setup's 503s lasted %.1f s, %s those of the %s redis-server restarted after %s (%.1f s); it logged out %s against %d.",
				ha.M(m503Window), than, r.Variant, singleRestartAfter, r.M(m503Window), usersN(ha.LoggedOut), r.LoggedOut))
		}
	}
	return out
}

func plural503(n int) string {
	if n == 1 {
		return "1 answer"
	}
	return fmt.Sprintf("%d answers", n)
}

func usersN(n int) string { return fmt.Sprintf("%d %s", n, plural(n, "user", "users")) }

// without503 is a row's failures but its 503s.
func without503(by map[string]int) map[string]int {
	out := map[string]int{}
	for why, n := range by {
		if !strings.HasSuffix(why, "status 503") {
			out[why] = n
		}
	}
	return out
}
