package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"stickylab/lab"
	"stickylab/lb"
)

// runDemo runs the whole lab on one machine: embedded Redis, the app
// instances as child processes, the balancer, until Ctrl-C or SIGTERM.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the balancer: what you open in the browser")
	admin := fs.String("admin", "127.0.0.1:8081", "address of the dashboard and admin API (instance kill and restart included: keep it on loopback)")
	instances := newInt(3, 1, 9)
	fs.Var(instances, "instances", "number of app instances, named app-1 … app-N (1 to 9)")
	store := newChoice("memory", "memory", "redis")
	fs.Var(store, "store", "where the instances keep sessions: memory (each its own, the blog's setup) or redis")
	redisURL := fs.String("redis-url", "", "Redis for -store redis (redis://host:port/db); empty: an embedded Redis on a free loopback port")
	verbose := fs.Bool("verbose", false, "also log the instances' output and the balancer's log lines to stderr")
	bf := balancerFlags(fs, lb.StickyApp, lab.AppCookie, time.Second)
	fs.Lookup("health-interval").Usage = "time between health checks of one instance, 1s to 5m (ALB: 30s, stickylab lb: 5s; the demo checks every second so that a kill shows at once)"
	if err := parseFlags(fs, args, stdout); err != nil {
		return helpOrErr(err)
	}
	bcfg, err := bf.config("demo")
	if err != nil {
		return err
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelDebug
	}
	err = lab.RunDemo(ctx, lab.DemoConfig{
		Listen: *listen, Admin: *admin, Instances: instances.value, Store: store.value, RedisURL: *redisURL,
		Balancer: bcfg, Out: stdout,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	return lbConfigError(err)
}

// lbFlags are the balancer's stickiness and health flags, shared in name
// and range with "stickylab lb"; only the defaults differ per command.
type lbFlags struct {
	sticky, algorithm                    *choiceFlag
	stickyDuration, healthInterval       *durationFlag
	healthTimeout, deregistrationDelay   *durationFlag
	healthyThreshold, unhealthyThreshold *intFlag
	appCookie, healthPath, cookieKey     *string
	passiveFailover                      *bool
}

// balancerFlags defines the balancer flags on fs with the given defaults
// for stickiness, application cookie and health check interval.
func balancerFlags(fs *flag.FlagSet, sticky, appCookie string, interval time.Duration) *lbFlags {
	f := &lbFlags{
		sticky:              newChoice(sticky, lb.StickyNone, lb.StickyDuration, lb.StickyApp),
		algorithm:           newChoice(lb.RoundRobin, lb.RoundRobin, lb.LeastOutstandingRequests),
		stickyDuration:      newDuration(lb.DefaultStickyDuration, lb.MinStickyDuration, lb.MaxStickyDuration),
		healthInterval:      newDuration(interval, time.Second, 5*time.Minute),
		healthTimeout:       newDuration(interval/2, 100*time.Millisecond, 2*time.Minute),
		deregistrationDelay: newDuration(5*time.Second, 0, time.Hour),
		healthyThreshold:    newInt(lb.DefaultHealthyThreshold, 2, 10),
		unhealthyThreshold:  newInt(lb.DefaultUnhealthyThreshold, 2, 10),
	}
	fs.Var(f.sticky, "sticky", "stickiness: none, duration (AWSALB cookie) or app (AWSALBAPP-0, follows -app-cookie)")
	fs.Var(f.stickyDuration, "sticky-duration", "how long a client stays on its instance without a request (1s to 168h)")
	f.appCookie = fs.String("app-cookie", appCookie, "the application's cookie that -sticky app follows (names starting with AWSALB are reserved)")
	fs.Var(f.algorithm, "algorithm", "how a new client's instance is picked: round_robin or least_outstanding_requests")
	f.healthPath = fs.String("health-path", lb.DefaultHealthPath, "path of the health check")
	fs.Var(f.healthInterval, "health-interval", "time between health checks of one instance (1s to 5m)")
	fs.Var(f.healthTimeout, "health-timeout", "time a health check may take, shorter than -health-interval (100ms to 2m)")
	fs.Var(f.healthyThreshold, "healthy-threshold", "passed checks in a row that make an unhealthy instance healthy (2 to 10)")
	fs.Var(f.unhealthyThreshold, "unhealthy-threshold", "failed checks in a row that make an instance unhealthy (2 to 10)")
	fs.Var(f.deregistrationDelay, "deregistration-delay", "how long a draining instance may finish its requests (0 to 1h)")
	f.passiveFailover = fs.Bool("passive-failover", true, "retry a request on another instance when its own refused it; false behaves like ALB: 502 until the health check notices")
	f.cookieKey = fs.String("cookie-key", "", "AES keys of the balancer's cookies, hex (16, 24 or 32 bytes), comma-separated, newest first; empty: random")
	return f
}

// config turns the parsed flags into an lb.Config (no targets yet).
func (f *lbFlags) config(cmd string) (lb.Config, error) {
	if f.healthTimeout.value >= f.healthInterval.value {
		return lb.Config{}, usageError{fmt.Errorf("%s: -health-timeout %v must be shorter than -health-interval %v", cmd, f.healthTimeout.value, f.healthInterval.value)}
	}
	keys, err := parseCookieKeys(*f.cookieKey)
	if err != nil {
		return lb.Config{}, usageError{fmt.Errorf("%s: invalid -cookie-key: %v", cmd, err)}
	}
	delay := f.deregistrationDelay.value
	if delay == 0 {
		delay = -1 // lb.Config: zero means the default, negative none
	}
	return lb.Config{
		Sticky: f.sticky.value, StickyDuration: f.stickyDuration.value, AppCookie: *f.appCookie,
		Algorithm: f.algorithm.value, HealthPath: *f.healthPath,
		HealthInterval: f.healthInterval.value, HealthTimeout: f.healthTimeout.value,
		HealthyThreshold: f.healthyThreshold.value, UnhealthyThreshold: f.unhealthyThreshold.value,
		DeregistrationDelay: delay, PassiveFailover: *f.passiveFailover, CookieKeys: keys,
	}, nil
}
