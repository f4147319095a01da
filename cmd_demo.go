package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"stickylab/lab"
	"stickylab/lb"
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
	store := newChoice("memory", "memory", "redis", "cookie")
	fs.Var(store, "store", "where the instances keep sessions: memory (each its own, the blog's setup), redis, or cookie (in the browser's cookie, encrypted: no server state)")
	redisURL := fs.String("redis-url", "", "Redis for -store redis (redis://host:port/db); empty: an embedded Redis on a free loopback port")
	migrateFrom := newChoice("", "memory")
	fs.Var(migrateFrom, "migrate-from", "with -store redis: memory starts the instances with -migrate-from memory (see stickylab app -h); to move a running lab from memory to redis without logging anyone out, use PUT /api/store {\"store\":\"redis\",\"migrate\":true}")
	cas := boolVar(fs, "cas", true, "the instances' compare-and-set on session writes; false: last writer wins, for the lesson on lost updates only (each instance warns at start)")
	verbose := boolVar(fs, "verbose", false, "also log the instances' output and the balancer's log lines to stderr")
	bf := balancerFlags(fs, demoLBDefaults())
	if err := parseFlags(fs, args, stdout); err != nil {
		return helpOrErr(err)
	}
	if *bf.configFile != "" {
		return usageError{errors.New("demo: -config is not served by the demo yet; use stickylab lb -config")}
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
		Listen: *listen, Admin: *admin, Instances: instances.value, Store: store.value, RedisURL: *redisURL,
		LastWriterWins: !*cas, MigrateFrom: migrateFrom.value,
		Balancer: bcfg, Out: stdout,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	return lbConfigError("demo", err)
}
