package lab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"stickylab/lb"
)

// localityScenario measures what stickiness buys once sessions are shared:
// a Redis store without a cache asks Redis on every request wherever it
// lands, and with its cache (app -redis-cache) an instance answers a session
// it holds from its memory, which stickiness makes likely and its absence
// makes rare.
func localityScenario() Scenario {
	return Scenario{
		Name:  "locality",
		About: "round trips per request and requests/s once sessions are shared: memory, redis, and redis with each instance's cache, with and without stickiness",
		Run:   runLocality,
	}
}

// The locality measures, by column.
const (
	colRequestsPerSecond = "req/s"
	colRoundTrips        = "round trips/req"
	colHitRatio          = "cache hits %"
)

// localityVisits is how many visits each user makes in the measured phase,
// per ExperimentConfig.Requests: enough requests for a rate.
const localityVisits = 10

func runLocality(ctx context.Context, cfg ExperimentConfig) (Outcome, error) {
	var rows []Row
	for _, sticky := range []string{lb.StickyApp, lb.StickyNone} {
		for _, store := range []string{"memory", "redis"} {
			if !cfg.selected(sticky, store) {
				continue
			}
			variants := []string{"-"}
			if store == "redis" {
				variants = []string{"off", "on"}
			}
			for _, v := range variants {
				rows = append(rows, Row{Sticky: sticky, Store: store, Variant: v})
			}
		}
	}
	start := time.Now()
	redisURL := cfg.RedisURL
	var warnings []string
	if redisURL == "" && slices.ContainsFunc(rows, func(r Row) bool { return r.Store == "redis" }) {
		// The embedded Redis has no CLIENT TRACKING, so the cache would
		// turn itself off: the cache's rows need a real redis-server.
		srv, err := startRedisServer(ctx)
		switch {
		case errors.Is(err, exec.ErrNotFound):
			warnings = append(warnings, "no redis-server on this machine, and no -redis-url: the rows with the cache are left out (the embedded Redis has no CLIENT TRACKING); install Redis to see them")
			rows = slices.DeleteFunc(rows, func(r Row) bool { return r.Variant == "on" })
		case err != nil:
			return nil, fmt.Errorf("locality: %w", err)
		default:
			defer srv.Close()
			redisURL = srv.URL()
		}
	}
	// One row at a time: requests/s of rows that share the machine would
	// measure each other.
	seq := cfg
	seq.Parallel = 1
	seq.RedisURL = redisURL
	answers := cfg.Requests * localityVisits
	rows, err := runRows(ctx, seq, "locality", rows, func(ctx context.Context, row *Row) error {
		return runLocalityRow(ctx, seq, row, answers)
	})
	if err != nil {
		return nil, err
	}
	t := &Table{
		Setup: fmt.Sprintf("%d users, %d visits each (GET /api/session, which changes the session), %d instances, one row at a time",
			cfg.Users, answers, cfg.Instances),
		Variant: "cache",
		Columns: []string{colRequestsPerSecond, colRoundTrips, colHitRatio},
		Rows:    rows,
		Legend: []string{
			"cache: the instances' -redis-cache",
			"req/s: visits answered per second, the whole crowd at once",
			"round trips/req: the Redis commands the instances sent and waited for, per request",
			"cache hits %: the loads an instance answered from its cache",
		},
		Warnings: warnings,
		Method:   localityMethod,
		Elapsed:  Duration(time.Since(start).Round(time.Millisecond)),
	}
	t.Findings = localityFindings(rows)
	return t, nil
}

const localityMethod = "Each row starts its own fleet behind its own balancer; the rows share one redis-server (a real one: " +
	"the embedded Redis has no CLIENT TRACKING) and run one after the other. The users log in, make two visits " +
	"(not measured), then all make their visits at once, as fast as answers come. req/s is the visits answered " +
	"over the time the last user took; round trips and cache hits are the difference of the instances' " +
	"stickylab_sessionstore_round_trips_total and cache_lookups_total (GET /metrics) over the measured visits."

// runLocalityRow runs one row's world and fills its measures.
func runLocalityRow(ctx context.Context, cfg ExperimentConfig, row *Row, answers int) error {
	rc := rigConfig{Sticky: row.Sticky, Store: row.Store}
	switch row.Variant {
	case "off":
		rc.Args = []string{"-redis-cache=false"}
	case "on":
		rc.Args = []string{"-redis-cache=true"}
	}
	r, err := startRig(ctx, cfg, rc, row.Label())
	if err != nil {
		return err
	}
	defer r.Close()
	users, err := r.crowd(1, cfg.Users)
	if err != nil {
		return err
	}
	warm := time.Duration(0)
	if row.Sticky != lb.StickyNone {
		warm = cfg.warm()
	}
	before := [][]tally{loginAll(ctx, users, warm), phase(ctx, users, 2, warm)}
	scrape := &http.Client{Transport: r.transport}
	stats, err := fleetStoreStats(ctx, scrape, r.fleet)
	if err != nil {
		return err
	}
	start := time.Now()
	measured := phase(ctx, users, answers, warm)
	elapsed := time.Since(start)
	after, err := fleetStoreStats(ctx, scrape, r.fleet)
	if err != nil {
		return err
	}
	// A user counts once as logged out, whichever phase saw it.
	all := make([]tally, len(users))
	for i := range all {
		all[i] = newTally()
		for _, ph := range append(before, measured) {
			all[i].add(ph[i])
		}
	}
	row.count(all)
	var requests, answered int
	for _, t := range measured {
		requests += t.requests
		answered += t.answered
	}
	d := after.Sub(stats)
	row.set(colRequestsPerSecond, math.Round(float64(answered)/elapsed.Seconds()))
	if requests > 0 {
		row.set(colRoundTrips, math.Round(d.RoundTrips/float64(requests)*100)/100)
	}
	if ratio := d.HitRatio(); ratio >= 0 {
		row.set(colHitRatio, math.Round(ratio*1000)/10)
	}
	return nil
}

// fleetStoreStats adds up the store stats of every instance of f.
func fleetStoreStats(ctx context.Context, client *http.Client, f *Fleet) (StoreStats, error) {
	var sum StoreStats
	for _, in := range f.Instances() {
		s, err := scrapeStoreStats(ctx, client, in.URL)
		if err != nil {
			return StoreStats{}, fmt.Errorf("%s: %w", in.Name, err)
		}
		sum = sum.Add(s)
	}
	return sum, nil
}

// localityFindings says what the rows show, from their numbers.
func localityFindings(rows []Row) []string {
	find := func(sticky, store, variant string) (Row, bool) {
		for _, r := range rows {
			if r.Sticky == sticky && r.Store == store && r.Variant == variant {
				return r, true
			}
		}
		return Row{}, false
	}
	var out []string
	on, okOn := find(lb.StickyApp, "redis", "on")
	onNone, okOnNone := find(lb.StickyNone, "redis", "on")
	if okOn && okOnNone {
		out = append(out, fmt.Sprintf("With stickiness, each instance answered %.0f%% of loads from its cache and a request cost %.2f round trips to Redis; "+
			"without stickiness, %.0f%% and %.2f: a user's next request comes back to the instance that served it only by chance, "+
			"and any other instance's copy was invalidated by the last visit's write, so the instances keep fetching.",
			on.M(colHitRatio), on.M(colRoundTrips), onNone.M(colHitRatio), onNone.M(colRoundTrips)))
	}
	off, okOff := find(lb.StickyApp, "redis", "off")
	offNone, okOffNone := find(lb.StickyNone, "redis", "off")
	if okOff && okOffNone {
		out = append(out, fmt.Sprintf("Without the cache, stickiness changes nothing for Redis: %.2f round trips per request with it, %.2f without.",
			off.M(colRoundTrips), offNone.M(colRoundTrips)))
	}
	if okOn && okOff {
		out = append(out, fmt.Sprintf("With stickiness, the cache served %.0f requests/s against %.0f without it (%.2fx).",
			on.M(colRequestsPerSecond), off.M(colRequestsPerSecond), on.M(colRequestsPerSecond)/max(off.M(colRequestsPerSecond), 1)))
	}
	if mem, ok := find(lb.StickyApp, "memory", "-"); ok && okOn {
		out = append(out, fmt.Sprintf("Memory with stickiness served %.0f requests/s: the shared store with its cache and stickiness reached %.2fx of it, and survives an instance's death.",
			mem.M(colRequestsPerSecond), on.M(colRequestsPerSecond)/max(mem.M(colRequestsPerSecond), 1)))
	}
	if memNone, ok := find(lb.StickyNone, "memory", "-"); ok {
		out = append(out, fmt.Sprintf("Memory without stickiness logged %d of the users out: there stickiness is required. With a shared store nobody is logged out either way, and stickiness is an optimisation: the round trips and requests/s above are what it buys.",
			memNone.LoggedOut))
	}
	return out
}

// redisServer is a redis-server child process on a loopback port.
type redisServer struct {
	addr  string
	dir   string
	spawn *spawner
	proc  *os.Process
	done  chan struct{}
}

// startRedisServer starts a redis-server without persistence and returns
// once it answers; a clear error when it is not installed.
func startRedisServer(ctx context.Context) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found: install Redis (Debian or Ubuntu: apt-get install redis-server; macOS: brew install redis), or give -redis-url: %w", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "stickylab-redis-")
	if err != nil {
		return nil, err
	}
	s := &redisServer{addr: "127.0.0.1:" + strconv.Itoa(ports[0]), dir: dir, spawn: newSpawner(), done: make(chan struct{})}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"), "--protected-mode", "no")
	cmd.SysProcAttr = childAttr()
	if err := s.spawn.start(cmd); err != nil {
		s.spawn.close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	s.proc = cmd.Process
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.done:
			s.Close()
			return nil, fmt.Errorf("redis-server ended at start; its log ends with: %s", lastLogLines(filepath.Join(dir, "redis.log")))
		case <-ctx.Done():
			s.Close()
			return nil, errors.Join(errors.New("redis-server does not answer"), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// URL is the redis:// URL of its database 0.
func (s *redisServer) URL() string { return "redis://" + s.addr + "/0" }

// Close kills it, waits for it and removes its files.
func (s *redisServer) Close() {
	s.proc.Kill()
	<-s.done
	s.spawn.close()
	os.RemoveAll(s.dir)
}
