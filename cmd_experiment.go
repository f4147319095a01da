package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"stickylab/lab"
	"stickylab/lb"
)

// runExperiment runs the scenarios (each a table of stickiness × store and
// what else the lesson varies) with real instance processes and a crowd of
// simulated users, and prints a table per scenario, or JSON with -json.
func runExperiment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("experiment")
	scenario := fs.String("scenario", "all", "scenarios to run, comma-separated: all, or "+lab.ScenarioNames())
	users := newInt(30, 1, 500)
	fs.Var(users, "users", "simulated users, each with its own cookie jar (1 to 500)")
	requests := newInt(10, 1, 1000)
	fs.Var(requests, "requests", "answered requests per user and phase (1 to 1000)")
	instances := newInt(3, 2, 9)
	fs.Var(instances, "instances", "app instances per cell (2 to 9: one of them is killed)")
	sticky := newChoice("all", "all", lb.StickyNone, lb.StickyDuration, lb.StickyApp)
	fs.Var(sticky, "sticky", "stickiness modes to run: all (each scenario's own), none, duration or app")
	store := newChoice("all", "all", "memory", "redis", "cookie")
	fs.Var(store, "store", "stores to run: all (each scenario's own), memory, redis or cookie")
	stickyDuration := newDuration(2*time.Second, lb.MinStickyDuration, time.Minute)
	fs.Var(stickyDuration, "sticky-duration", "the balancer's stickiness duration; the expired phase waits past it (1s to 1m)")
	healthInterval := newDuration(0, 100*time.Millisecond, 5*time.Second)
	fs.Var(healthInterval, "health-interval", "the balancer's health check interval (ALB: 30s; short here so that a cell takes seconds); default 250ms, or 4ms per user beyond 62 users, so that a loaded instance still answers its check in time")
	passiveFailover := boolVar(fs, "passive-failover", true, "retry a request on another instance when its own is dead; false behaves like ALB: clients see 502 until the health check notices")
	parallel := newInt(2, 1, 6)
	fs.Var(parallel, "parallel", "cells run at the same time (1 to 6)")
	asJSON := boolVar(fs, "json", false, "print the result as JSON instead of the table")
	verbose := boolVar(fs, "verbose", false, "log the balancers' and instances' output to stderr")
	if err := parseFlags(fs, args, stdout); err != nil {
		return helpOrErr(err)
	}
	scenarios, err := lab.SelectScenarios(*scenario)
	if err != nil {
		return usageError{fmt.Errorf("experiment: invalid value %q for -scenario: %w", *scenario, err)}
	}
	// Named, store-failover needs its redis-server: refused before anything
	// runs. In a run of every scenario its table says why it has no row.
	if *scenario != "all" && slices.ContainsFunc(scenarios, func(s lab.Scenario) bool { return s.Name == lab.ScenarioStoreFailover }) {
		if _, err := lab.LookRedisServer(); err != nil {
			return fmt.Errorf("experiment: %s: %w", lab.ScenarioStoreFailover, err)
		}
	}

	var progress sync.Mutex // cells finish concurrently
	cfg := lab.ExperimentConfig{
		Users: users.value, Requests: requests.value, Instances: instances.value,
		StickyDuration: stickyDuration.value, HealthInterval: healthInterval.value,
		PassiveFailover: *passiveFailover, Parallel: parallel.value,
		Progress: func(scenario, row string, elapsed time.Duration) {
			progress.Lock()
			defer progress.Unlock()
			fmt.Fprintf(stderr, "experiment: %s: %s done in %v\n", scenario, row, elapsed.Round(time.Millisecond))
		},
	}
	if sticky.value != "all" {
		cfg.Stickies = []string{sticky.value}
	}
	if store.value != "all" {
		cfg.Stores = []string{store.value}
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	res, err := lab.RunScenarios(ctx, cfg, scenarios)
	if err != nil {
		return err
	}
	if *asJSON {
		return res.WriteJSON(stdout)
	}
	return res.WriteTable(stdout)
}
