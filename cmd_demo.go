package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"stickylab/lab"
	"stickylab/lb"
	"stickylab/lb/listener"
)

// demoLBDefaults are the balancer flags' defaults of "stickylab demo".
func demoLBDefaults() lbDefaults {
	return lbDefaults{
		sticky: lb.StickyApp, appCookie: lab.AppCookie,
		healthInterval: time.Second, healthTimeout: 500 * time.Millisecond,
		healthIntervalNote:  " (ALB: 30s, stickylab lb: 5s; the demo checks every second so that a kill shows at once)",
		deregistrationDelay: 5 * time.Second, stickinessHeader: true,
	}
}

// runDemo runs the whole lab on one machine: embedded Redis, the app
// instances as child processes, the balancer, until Ctrl-C or SIGTERM.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the balancer: what you open in the browser")
	admin := fs.String("admin", "127.0.0.1:8081", "address of the dashboard and admin API (instance kill and restart included: keep it on loopback)")
	instances := newInt(3, 1, 9)
	fs.Var(instances, "instances", "number of app instances, named app-1 … app-N (1 to 9)")
	lbNodes := newInt(1, 1, lab.MaxLBNodes)
	fs.Var(lbNodes, "lb-nodes", "number of balancer nodes, as ALB has several: the same cookie keys and instances, each its own health checks; node 1 on -listen, the others on the next free ports (1 to 3)")
	store := newChoice("memory", "memory", "redis", "cookie")
	fs.Var(store, "store", "where the instances keep sessions: memory (each its own, the blog's setup), redis, or cookie (in the browser's cookie, encrypted: no server state)")
	redisURL := fs.String("redis-url", "", "Redis for -store redis (redis://host:port/db); empty: the Redis of -redis")
	redisMode := newChoice("embedded", "embedded", "ha")
	fs.Var(redisMode, "redis", "the Redis started when -redis-url is empty: embedded (in-process, nothing to install) or ha (a primary, a replica and three Sentinels, real redis-server processes: kill the primary and nobody is logged out)")
	migrateFrom := newChoice("", "memory")
	fs.Var(migrateFrom, "migrate-from", "with -store redis: memory starts the instances with -migrate-from memory (see stickylab app -h); to move a running lab from memory to redis without logging anyone out, use PUT /api/store {\"store\":\"redis\",\"migrate\":true}")
	cas := boolVar(fs, "cas", true, "the instances' compare-and-set on session writes; false: last writer wins, for the lesson on lost updates only (each instance warns at start)")
	redisCache := boolVar(fs, "redis-cache", true, "the instances' cache of sessions with a real Redis (see stickylab app -h); false: every load asks Redis")
	verbose := boolVar(fs, "verbose", false, "also log the instances' output and the balancer's log lines to stderr")
	setup := newChoice(lab.SetupDefault, lab.Setups...)
	fs.Var(setup, "setup", "a ready setup: default (one group, the stickiness flags), blog-paths (/api/* and the pages on two target groups of the same instances, app-cookie stickiness in each) or blue-green (two groups behind a weighted forward with group stickiness, shifted with PUT /api/rules/default)")
	bf := balancerFlags(fs, demoLBDefaults())
	if err := parseFlags(fs, args, stdout); err != nil {
		return helpOrErr(err)
	}
	file, err := demoRouting(fs, bf, setup.value, listen, instances.value)
	if err != nil {
		return err
	}
	if err := checkListeners("demo", *listen, *admin); err != nil {
		return err
	}
	if migrateFrom.value != "" && store.value != "redis" {
		return badValue("demo", "migrate-from", migrateFrom.value, "only with -store redis")
	}
	bcfg, err := bf.config("demo")
	if err != nil {
		return err
	}
	if redisMode.value == "ha" {
		if *redisURL != "" {
			return badValue("demo", "redis", redisMode.value, "not with -redis-url")
		}
		ha, err := lab.StartRedisHA(ctx)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer ha.Close()
		fmt.Fprint(stdout, ha.Describe())
		*redisURL = ha.URL()
	}
	if *redisURL != "" {
		// Parsed only: the client connects on first use.
		rc, err := newRedisClient("demo", *redisURL)
		if err != nil {
			return err
		}
		rc.Close()
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelDebug
	}
	err = lab.RunDemo(ctx, lab.DemoConfig{
		Listen: *listen, Admin: *admin, Instances: instances.value, LBNodes: lbNodes.value, Store: store.value, RedisURL: *redisURL,
		LastWriterWins: !*cas, NoRedisCache: !*redisCache, MigrateFrom: migrateFrom.value,
		Balancer: bcfg, Setup: setup.value, File: file, Out: stdout,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	if file != nil {
		return routerError("demo", *bf.configFile, err)
	}
	return lbConfigError("demo", err)
}

// setupFlags are the flags that a setup other than default says itself.
var setupFlags = []string{"sticky", "sticky-duration", "algorithm"}

// demoRouting checks -setup and -config against the other flags and loads
// the file; with -config, *listen becomes the file's listener address.
func demoRouting(fs *flag.FlagSet, bf *lbFlags, setup string, listen *string, instances int) (*listener.Config, error) {
	if *bf.configFile == "" {
		if setup == lab.SetupDefault {
			return nil, nil
		}
		var mixed []string
		fs.Visit(func(f *flag.Flag) {
			if slices.Contains(setupFlags, f.Name) {
				mixed = append(mixed, "-"+f.Name)
			}
		})
		if len(mixed) > 0 {
			return nil, usageError{fmt.Errorf("demo: -setup %s says its stickiness and algorithm itself: %s cannot be given with it", setup, strings.Join(mixed, ", "))}
		}
		return nil, nil
	}
	if setup != lab.SetupDefault {
		return nil, usageError{errors.New("demo: -config and -setup cannot be given together: the file is a setup of its own")}
	}
	if err := checkNotMixed("demo", fs); err != nil {
		return nil, err
	}
	file, err := loadConfigFile(*bf.configFile)
	if err != nil {
		return nil, err
	}
	for _, tg := range file.TargetGroups {
		for _, t := range tg.Targets {
			if n, err := strconv.Atoi(strings.TrimPrefix(t.Name, "app-")); err != nil || n < 1 || n > instances || t.Name != "app-"+strconv.Itoa(n) {
				return nil, usageError{fmt.Errorf("demo: -config %s: target group %s: target %q is not one of the demo's instances app-1 … app-%d (the demo points each at its instance's URL)", *bf.configFile, tg.Name, t.Name, instances)}
			}
		}
	}
	*listen = file.Listener.Listen
	return file, nil
}
