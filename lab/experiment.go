package lab

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"stickylab/lb"
)

// The phases of every cell, in order.
const (
	PhaseSteady  = "steady"  // all instances up
	PhaseKilled  = "killed"  // right after SIGKILL of the instance serving the most users
	PhaseBack    = "back"    // after that instance was restarted and is healthy again
	PhaseExpired = "expired" // after a pause longer than the stickiness duration
)

// Phases lists the phases in the order they run.
var Phases = []string{PhaseSteady, PhaseKilled, PhaseBack, PhaseExpired}

// ExperimentConfig configures an Experiment. The zero value runs the whole
// matrix with the defaults below; PassiveFailover's zero value is ALB's
// behaviour (no retry), so callers that want the balancer's default set it.
type ExperimentConfig struct {
	// Binary is the stickylab binary the instances run; empty: os.Executable().
	Binary string
	// Users is the size of the crowd, default 30.
	Users int
	// Requests is how many answered requests each user makes per phase,
	// default 10.
	Requests int
	// Instances per cell, default 3.
	Instances int
	// Stickies and Stores select the rows of every scenario: empty, each
	// scenario runs its own; crash runs all three stickiness modes and the
	// memory and redis stores.
	Stickies []string
	Stores   []string
	// StickyDuration is the balancer's stickiness duration, default 2s. The
	// "expired" phase waits this long plus a margin without a request.
	StickyDuration time.Duration
	// PassiveFailover is lb.Config.PassiveFailover: false is ALB, whose
	// clients see 502 between a crash and the health check noticing it.
	PassiveFailover bool
	// HealthInterval of the balancer's checks; default 250ms, so that a
	// killed instance is marked unhealthy within half a second, or longer
	// for a large crowd (healthIntervalFor).
	HealthInterval time.Duration
	// Parallel is how many cells (rows) run at once, default 2.
	Parallel int
	// RedisURL is a Redis every row that needs one uses, instead of an
	// embedded Redis of its own (rows share it: session IDs are random).
	RedisURL string
	// Logger receives the balancers' and instances' logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called as each cell (row) of a scenario
	// finishes, from the goroutine that ran it; calls may come concurrently.
	Progress func(scenario, row string, elapsed time.Duration)
}

// Result is what an experiment measured, and what the table and -json show.
type Result struct {
	Users           int      `json:"users"`
	Requests        int      `json:"requests_per_phase"`
	Instances       int      `json:"instances"`
	StickyDuration  Duration `json:"sticky_duration"`
	PassiveFailover bool     `json:"passive_failover"`
	HealthInterval  Duration `json:"health_interval"`
	Cells           []Cell   `json:"cells"`
	Findings        []string `json:"findings"`
	Elapsed         Duration `json:"elapsed"`
	Method          string   `json:"method"`
}

// Cell is one stickiness × store combination.
type Cell struct {
	Sticky      string   `json:"sticky"`
	Store       string   `json:"store"`
	Killed      string   `json:"killed"`       // the instance killed after the steady phase
	KilledUsers int      `json:"killed_users"` // users it served in the steady phase
	Phases      []Phase  `json:"phases"`
	Warnings    []string `json:"warnings,omitempty"`
	Elapsed     Duration `json:"elapsed"`
}

// Phase is what the crowd saw in one phase of a cell.
type Phase struct {
	Name      string         `json:"name"`
	LoggedOut int            `json:"logged_out"` // users seen logged out at least once
	Failed    int            `json:"failed"`     // requests without a 2xx answer
	FailedBy  map[string]int `json:"failed_by,omitempty"`
	Requests  int            `json:"requests"` // requests sent, re-logins included
	Spread    map[string]int `json:"spread"`   // instance name → users it answered
	// StickyExpired counts the users who stayed idle longer than the
	// stickiness duration inside the phase, from an answer to their next
	// request, so that their stickiness expired; MaybeExpired those for whom
	// more than the duration passed from one answer to the next (the
	// request may have waited in a queue), so that it may have. Neither is
	// counted in the expired phase, which waits on purpose. LongestGap is the
	// longest time between two answers of a user. A crowd too large for the
	// machine shows here.
	StickyExpired int      `json:"sticky_expired"`
	MaybeExpired  int      `json:"maybe_expired"`
	LongestGap    Duration `json:"longest_gap"`
	// SlowChecks counts the instances the balancer marked unhealthy in the
	// phase because a health check timed out (a machine too loaded for the
	// crowd): it moves users as a crash does.
	SlowChecks int `json:"slow_checks"`
}

// Duration is a time.Duration that JSON shows as "1.5s".
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Phase returns the named phase, and false when the cell has none.
func (c Cell) Phase(name string) (Phase, bool) {
	i := slices.IndexFunc(c.Phases, func(p Phase) bool { return p.Name == name })
	if i < 0 {
		return Phase{}, false
	}
	return c.Phases[i], true
}

// withDefaults applies the defaults stated on ExperimentConfig's fields.
func (cfg ExperimentConfig) withDefaults() ExperimentConfig {
	cfg.Users = cmp.Or(cfg.Users, 30)
	cfg.Requests = cmp.Or(cfg.Requests, 10)
	cfg.Instances = cmp.Or(cfg.Instances, 3)
	cfg.StickyDuration = cmp.Or(cfg.StickyDuration, 2*time.Second)
	cfg.HealthInterval = cmp.Or(cfg.HealthInterval, healthIntervalFor(cfg.Users))
	cfg.Parallel = cmp.Or(cfg.Parallel, 2)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// healthIntervalFor is the default health check interval for a crowd of
// n users: 250ms, so that a killed instance is marked unhealthy within half
// a second, but 4ms per user beyond 62 users. The check times out after half
// the interval, and under a large crowd on a small machine an instance
// answers its check later: with 300 users and 9 instances on two cores, a
// 125ms timeout took live instances for dead (the balancer then moves their
// users as if they had crashed).
func healthIntervalFor(n int) time.Duration {
	return max(250*time.Millisecond, time.Duration(n)*4*time.Millisecond)
}

// warm is how often a user who waits for the rest of the crowd keeps its
// session warm: well within the stickiness duration, so that stickiness
// never expires inside a phase, however large the crowd.
func (cfg ExperimentConfig) warm() time.Duration { return cfg.StickyDuration / 4 }

func crashScenario() Scenario {
	return Scenario{
		Name:  "crash",
		About: "an instance dies, comes back, and stickiness expires (the blog's two claims)",
		Run: func(ctx context.Context, cfg ExperimentConfig) (Outcome, error) {
			return RunExperiment(ctx, cfg)
		},
	}
}

// RunExperiment runs every cell of the crash scenario's matrix, each with a
// fresh fleet, a fresh embedded Redis and its own balancer on loopback
// ports, and returns the measurements with the findings stated in words. It
// fails when a cell could not be set up; what the crowd saw is never an
// error.
func RunExperiment(ctx context.Context, cfg ExperimentConfig) (*Result, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Stickies) == 0 {
		cfg.Stickies = []string{lb.StickyNone, lb.StickyDuration, lb.StickyApp}
	}
	if len(cfg.Stores) == 0 {
		cfg.Stores = []string{"memory", "redis"}
	}
	if cfg.Instances < 2 {
		return nil, fmt.Errorf("experiment: %d instances: at least 2 are needed, one to kill and one to survive", cfg.Instances)
	}
	start := time.Now()
	var cells []Cell
	for _, sticky := range cfg.Stickies {
		for _, store := range cfg.Stores {
			cells = append(cells, Cell{Sticky: sticky, Store: store})
		}
	}
	err := runAll(ctx, cfg.Parallel, len(cells), func(i int) error {
		if err := runCell(ctx, cfg, &cells[i]); err != nil {
			return err
		}
		if cfg.Progress != nil {
			cfg.Progress("crash", cells[i].Sticky+"/"+cells[i].Store, time.Duration(cells[i].Elapsed))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	res := &Result{
		Users: cfg.Users, Requests: cfg.Requests, Instances: cfg.Instances,
		StickyDuration: Duration(cfg.StickyDuration), PassiveFailover: cfg.PassiveFailover,
		HealthInterval: Duration(cfg.HealthInterval), Cells: cells, Elapsed: Duration(time.Since(start).Round(time.Millisecond)),
		Method: method,
	}
	res.Findings = findings(res)
	return res, nil
}

// method says how the numbers are counted, for the -json reader.
const method = "Each user logs in (POST /api/login), then in every phase makes N answered GET /api/session " +
	"requests through the balancer. A user whose answer is logged_in=false (or another user's session) after " +
	"having logged in counts once as logged out for that phase and logs in again at once. A request without a " +
	"2xx answer counts as failed and is retried 50ms later (failed_by says why). A user done before the others keeps " +
	"making a request every quarter of the stickiness duration until all are done, and while the killed instance " +
	"restarts (those requests count in the killed phase). Spread: the users each instance answered in the phase."

// runCell runs the phases of one cell and fills c in.
func runCell(ctx context.Context, cfg ExperimentConfig, c *Cell) error {
	start := time.Now()
	label := c.Sticky + "/" + c.Store
	r, err := startRig(ctx, cfg, rigConfig{Sticky: c.Sticky, Store: c.Store}, label)
	if err != nil {
		return err
	}
	defer r.Close()
	users, err := r.crowd(1, cfg.Users)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	warm := time.Duration(0)
	if c.Sticky != lb.StickyNone {
		warm = cfg.warm()
	}
	// The logins belong to no phase; a failed one shows up as failed
	// requests of the steady phase.
	login := loginAll(ctx, users, warm)

	slow := int64(0)
	record := func(name string, tallies []tally) Phase {
		p := summarize(name, tallies)
		now := r.slowChecks.Load()
		p.SlowChecks, slow = int(now-slow), now
		if name != PhaseExpired && c.Sticky != lb.StickyNone {
			p.StickyExpired, p.MaybeExpired, p.LongestGap = expiredWithin(tallies, cfg.StickyDuration)
		}
		c.Phases = append(c.Phases, p)
		if short := unfinished(tallies, cfg.Requests); short > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s phase: %s did not get their %d answers within %v; the counts are partial",
				name, usersCount(short), cfg.Requests, phaseTimeout))
		}
		return p
	}
	steadyTallies := phase(ctx, users, cfg.Requests, warm)
	for i := range steadyTallies {
		steadyTallies[i].add(login[i])
	}
	steady := record(PhaseSteady, steadyTallies)
	c.Killed, c.KilledUsers = busiest(steady.Spread, r.fleet.Names())

	if _, err := r.fleet.Kill(c.Killed); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	killed := phase(ctx, users, cfg.Requests, warm)
	// The users keep working while the killed instance restarts: the
	// killed phase lasts until it is back.
	during, err := whileWarm(ctx, users, warm, func() error {
		if _, err := r.fleet.Restart(ctx, c.Killed); err != nil {
			return err
		}
		return awaitTargets(ctx, r.bal, c.Killed)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	for i := range killed {
		killed[i].add(during[i])
	}
	record(PhaseKilled, killed)
	record(PhaseBack, phase(ctx, users, cfg.Requests, warm))

	if c.Sticky != lb.StickyNone {
		pause(ctx, expiryPause(cfg.StickyDuration))
	}
	record(PhaseExpired, phase(ctx, users, cfg.Requests, warm))
	c.Elapsed = Duration(time.Since(start).Round(time.Millisecond))
	return ctx.Err()
}

// expiredWithin counts the users who stayed idle longer than the
// stickiness duration d (their stickiness expired inside the phase) and
// those for whom more than d passed between two answers (it may have), and
// returns the longest time between two answers of any user.
func expiredWithin(tallies []tally, d time.Duration) (expired, maybe int, longest Duration) {
	gap := time.Duration(0)
	for _, t := range tallies {
		if t.maxIdle >= d {
			expired++
		}
		if t.maxGap >= d {
			maybe++
		}
		gap = max(gap, t.maxGap)
	}
	return expired, maybe, Duration(gap.Round(time.Millisecond))
}

// expiryPause is how long the crowd stays idle for stickiness to expire:
// the duration (the balancer's cookie carries its deadline to the
// millisecond), plus a margin for the last response still on its way.
func expiryPause(d time.Duration) time.Duration { return d + 250*time.Millisecond }

// summarize adds up the users' tallies of one phase.
func summarize(name string, tallies []tally) Phase {
	p := Phase{Name: name, Spread: map[string]int{}, FailedBy: map[string]int{}}
	for _, t := range tallies {
		if t.loggedOut {
			p.LoggedOut++
		}
		p.Failed += t.failed
		for why, n := range t.failedBy {
			p.FailedBy[why] += n
		}
		p.Requests += t.requests
		for inst := range t.served {
			p.Spread[inst]++
		}
	}
	return p
}

// unfinished counts the users who got fewer than want answers.
func unfinished(tallies []tally, want int) int {
	n := 0
	for _, t := range tallies {
		if t.answered < want {
			n++
		}
	}
	return n
}

// busiest returns the instance that answered the most users, the first in
// names order on a tie, and how many users it answered.
func busiest(spread map[string]int, names []string) (string, int) {
	best := names[0]
	for _, n := range names {
		if spread[n] > spread[best] {
			best = n
		}
	}
	return best, spread[best]
}
