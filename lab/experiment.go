package lab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
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
	// Stickies and Stores are the rows of the matrix; default all three
	// stickiness modes and both stores.
	Stickies []string
	Stores   []string
	// StickyDuration is the balancer's stickiness duration, default 2s. The
	// "expired" phase waits this long plus a margin without a request.
	StickyDuration time.Duration
	// PassiveFailover is lb.Config.PassiveFailover: false is ALB, whose
	// clients see 502 between a crash and the health check noticing it.
	PassiveFailover bool
	// HealthInterval of the balancer's checks, default 250ms, so that a
	// killed instance is marked unhealthy within half a second.
	HealthInterval time.Duration
	// Parallel is how many cells run at once, default 2.
	Parallel int
	// Logger receives the balancers' and instances' logs; nil discards them.
	Logger *slog.Logger
	// OnCell, when set, is called as each cell finishes, from the goroutine
	// that ran it; calls may come concurrently.
	OnCell func(Cell)
}

// Result is what an experiment measured, and what the table and -json show.
type Result struct {
	Users           int      `json:"users"`
	Requests        int      `json:"requests_per_phase"`
	Instances       int      `json:"instances"`
	StickyDuration  Duration `json:"sticky_duration"`
	PassiveFailover bool     `json:"passive_failover"`
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
	Requests  int            `json:"requests"`   // requests sent, re-logins included
	Spread    map[string]int `json:"spread"`     // instance name → users it answered
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

// RunExperiment runs every cell of the matrix, each with a fresh fleet, a
// fresh embedded Redis and its own balancer on loopback ports, and returns
// the measurements with the findings stated in words. It fails when a cell
// could not be set up; what the crowd saw is never an error.
func RunExperiment(ctx context.Context, cfg ExperimentConfig) (*Result, error) {
	cfg.Users = cmp.Or(cfg.Users, 30)
	cfg.Requests = cmp.Or(cfg.Requests, 10)
	cfg.Instances = cmp.Or(cfg.Instances, 3)
	cfg.StickyDuration = cmp.Or(cfg.StickyDuration, 2*time.Second)
	cfg.HealthInterval = cmp.Or(cfg.HealthInterval, 250*time.Millisecond)
	cfg.Parallel = cmp.Or(cfg.Parallel, 2)
	if len(cfg.Stickies) == 0 {
		cfg.Stickies = []string{lb.StickyNone, lb.StickyDuration, lb.StickyApp}
	}
	if len(cfg.Stores) == 0 {
		cfg.Stores = []string{"memory", "redis"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
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
	errs := make([]error, len(cells))
	sem := make(chan struct{}, cfg.Parallel)
	var wg sync.WaitGroup
	for i := range cells {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			errs[i] = runCell(ctx, cfg, &cells[i])
			if errs[i] == nil && cfg.OnCell != nil {
				cfg.OnCell(cells[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	res := &Result{
		Users: cfg.Users, Requests: cfg.Requests, Instances: cfg.Instances,
		StickyDuration: Duration(cfg.StickyDuration), PassiveFailover: cfg.PassiveFailover,
		Cells: cells, Elapsed: Duration(time.Since(start).Round(time.Millisecond)),
		Method: method,
	}
	res.Findings = findings(res)
	return res, nil
}

// method says how the numbers are counted, for the -json reader.
const method = "Each user logs in (POST /api/login), then in every phase makes N answered GET /api/session " +
	"requests through the balancer. A user whose answer is logged_in=false (or another user's session) after " +
	"having logged in counts once as logged out for that phase and logs in again at once. A request without a " +
	"2xx answer counts as failed and is retried 50ms later. Spread: the users each instance answered in the phase."

// runCell runs the phases of one cell and fills c in.
func runCell(ctx context.Context, cfg ExperimentConfig, c *Cell) error {
	start := time.Now()
	label := c.Sticky + "/" + c.Store
	var redisURL string
	if c.Store == "redis" {
		r, err := StartRedis()
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		defer r.Close()
		redisURL = r.URL()
	}
	fleet, err := StartFleet(ctx, FleetConfig{
		Binary: cfg.Binary, Instances: cfg.Instances, Store: c.Store, RedisURL: redisURL,
		SessionKey: newSessionKey(), CookieName: AppCookie,
		Logger: cfg.Logger.With("cell", label),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	defer fleet.Stop()

	bal, err := lb.New(lb.Config{
		Targets: fleetTargets(fleet), Sticky: c.Sticky, StickyDuration: cfg.StickyDuration, AppCookie: AppCookie,
		HealthInterval: cfg.HealthInterval, HealthTimeout: cfg.HealthInterval / 2,
		HealthyThreshold: 2, UnhealthyThreshold: 2, DeregistrationDelay: -1,
		PassiveFailover: cfg.PassiveFailover, Logger: cfg.Logger.With("cell", label),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- bal.Serve(serveCtx, ln, nil) }()
	defer func() {
		stopServe()
		<-served
	}()
	if err := awaitTargets(ctx, bal, fleet.Names()...); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}

	transport := &http.Transport{MaxIdleConnsPerHost: cfg.Users}
	defer transport.CloseIdleConnections()
	users, err := newCrowd(cfg.Users, "http://"+ln.Addr().String(), transport)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	// The logins belong to no phase; a failed one shows up as failed
	// requests of the steady phase.
	login := loginAll(ctx, users)

	record := func(name string, tallies []tally) Phase {
		p := summarize(name, tallies)
		c.Phases = append(c.Phases, p)
		if short := unfinished(tallies, cfg.Requests); short > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s phase: %s did not get their %d answers within %v; the counts are partial",
				name, usersCount(short), cfg.Requests, phaseTimeout))
		}
		return p
	}
	steadyTallies := phase(ctx, users, cfg.Requests)
	for i := range steadyTallies {
		steadyTallies[i].failed += login[i].failed
		steadyTallies[i].requests += login[i].requests
	}
	steady := record(PhaseSteady, steadyTallies)
	c.Killed, c.KilledUsers = busiest(steady.Spread, fleet.Names())

	if _, err := fleet.Kill(c.Killed); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	record(PhaseKilled, phase(ctx, users, cfg.Requests))

	gapStart := time.Now()
	if _, err := fleet.Restart(ctx, c.Killed); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if err := awaitTargets(ctx, bal, c.Killed); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if gap := time.Since(gapStart); c.Sticky != lb.StickyNone && gap >= cfg.StickyDuration {
		c.Warnings = append(c.Warnings, fmt.Sprintf("restarting %s took %v, longer than the stickiness duration %v: "+
			"the back phase already saw stickiness expire; raise -sticky-duration", c.Killed, gap.Round(time.Millisecond), cfg.StickyDuration))
	}
	record(PhaseBack, phase(ctx, users, cfg.Requests))

	if c.Sticky != lb.StickyNone {
		pause(ctx, expiryPause(cfg.StickyDuration))
	}
	record(PhaseExpired, phase(ctx, users, cfg.Requests))
	c.Elapsed = Duration(time.Since(start).Round(time.Millisecond))
	return ctx.Err()
}

// expiryPause is how long the crowd stays idle for stickiness to expire:
// the duration (the balancer's cookie carries its deadline to the
// millisecond), plus a margin for the last response still on its way.
func expiryPause(d time.Duration) time.Duration { return d + 250*time.Millisecond }

// summarize adds up the users' tallies of one phase.
func summarize(name string, tallies []tally) Phase {
	p := Phase{Name: name, Spread: map[string]int{}}
	for _, t := range tallies {
		if t.loggedOut {
			p.LoggedOut++
		}
		p.Failed += t.failed
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
