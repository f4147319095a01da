package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"stickylab/lb"
)

// runLB runs the load balancer: flags and environment into lb.Config, then
// lb.Serve until ctx is done.
func runLB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lb")
	listen := fs.String("listen", ":8080", "address of the balancer (what clients connect to)")
	admin := fs.String("admin", "127.0.0.1:8081", "address of the admin API and dashboard (no authentication: keep it private)")
	targets := fs.String("targets", "", "comma-separated [name=]URL targets, e.g. app-1=http://app1:8080,app-2=http://app2:8080 (name defaults to host:port)")
	sticky := newChoice(lb.StickyNone, lb.StickyNone, lb.StickyDuration, lb.StickyApp)
	fs.Var(sticky, "sticky", "stickiness: none, duration (AWSALB cookie) or app (AWSALBAPP-0, follows -app-cookie)")
	stickyDuration := newDuration(lb.DefaultStickyDuration, lb.MinStickyDuration, lb.MaxStickyDuration)
	fs.Var(stickyDuration, "sticky-duration", "how long a client stays on its target without a request (1s to 168h)")
	appCookie := fs.String("app-cookie", "", "the application's session cookie that -sticky app follows (required with it; AWSALB* names are reserved)")
	algorithm := newChoice(lb.RoundRobin, lb.RoundRobin, lb.LeastOutstandingRequests)
	fs.Var(algorithm, "algorithm", "how a target is picked: round_robin or least_outstanding_requests")
	healthPath := fs.String("health-path", lb.DefaultHealthPath, "path of the health check")
	healthInterval := newDuration(lb.DefaultHealthInterval, time.Second, 5*time.Minute)
	fs.Var(healthInterval, "health-interval", "time between health checks of a target (1s to 5m)")
	healthTimeout := newDuration(lb.DefaultHealthTimeout, 100*time.Millisecond, 2*time.Minute)
	fs.Var(healthTimeout, "health-timeout", "time a health check may take, shorter than -health-interval (100ms to 2m)")
	healthy := newInt(lb.DefaultHealthyThreshold, 2, 10)
	fs.Var(healthy, "healthy-threshold", "passed checks in a row that make an unhealthy target healthy (2 to 10)")
	unhealthy := newInt(lb.DefaultUnhealthyThreshold, 2, 10)
	fs.Var(unhealthy, "unhealthy-threshold", "failed checks in a row that make a target unhealthy (2 to 10)")
	deregistration := newDuration(lb.DefaultDeregistrationDelay, 0, time.Hour)
	fs.Var(deregistration, "deregistration-delay", "how long a draining target may finish its in-flight requests (0 to 1h)")
	passive := fs.Bool("passive-failover", true, "retry on another target when a target refuses the connection (false: like ALB, clients get 502 until health checks notice)")
	cookieKey := fs.String("cookie-key", "", "hex AES key(s) of the sticky cookies, 16, 24 or 32 bytes, comma-separated newest first for rotation (empty: random, cookies do not survive a restart)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return helpOrErr(err)
	}

	if *targets == "" {
		return usageError{errors.New("lb: -targets is required: comma-separated [name=]URL, e.g. app-1=http://127.0.0.1:8001")}
	}
	ts, err := lb.ParseTargets(*targets)
	if err != nil {
		return usageError{fmt.Errorf("lb: invalid -targets %q: %v", *targets, err)}
	}
	keys, err := parseCookieKeys(*cookieKey)
	if err != nil {
		return usageError{fmt.Errorf("lb: invalid -cookie-key: %v", err)}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := lb.Config{
		Targets:             ts,
		Sticky:              sticky.value,
		StickyDuration:      stickyDuration.value,
		AppCookie:           *appCookie,
		Algorithm:           algorithm.value,
		HealthPath:          *healthPath,
		HealthInterval:      healthInterval.value,
		HealthTimeout:       healthTimeout.value,
		HealthyThreshold:    healthy.value,
		UnhealthyThreshold:  unhealthy.value,
		DeregistrationDelay: deregistration.value,
		PassiveFailover:     *passive,
		CookieKeys:          keys,
		Logger:              log,
	}
	if cfg.DeregistrationDelay == 0 {
		cfg.DeregistrationDelay = -1 // lb.Config: negative means none, zero the default
	}
	b, err := lb.New(cfg)
	if err != nil {
		return lbConfigError(err)
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		// A proxy's heap is small and its garbage short-lived: collecting
		// a quarter as often saved about 5% CPU per request in
		// scripts/bench-lb.sh. GOGC in the environment still wins.
		debug.SetGCPercent(400)
	}

	proxyLn, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("lb: -listen: %w", err)
	}
	adminLn, err := net.Listen("tcp", *admin)
	if err != nil {
		proxyLn.Close()
		return fmt.Errorf("lb: -admin: %w", err)
	}
	if len(keys) == 0 {
		log.Warn("lb: no -cookie-key, using a random one: sticky cookies will not survive a restart")
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name + "=" + t.URL.String()
	}
	log.Info("lb: serving", "listen", proxyLn.Addr().String(), "admin", adminLn.Addr().String(),
		"targets", strings.Join(names, ","), "sticky", sticky.value, "algorithm", algorithm.value,
		"passive_failover", *passive, "version", version)
	return b.Serve(ctx, proxyLn, adminLn)
}

// parseCookieKeys parses -cookie-key: comma-separated hex keys, newest first.
func parseCookieKeys(s string) ([][]byte, error) {
	if s == "" {
		return nil, nil
	}
	var keys [][]byte
	for i, h := range strings.Split(s, ",") {
		k, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil {
			return nil, fmt.Errorf("key %d is not hex", i+1)
		}
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("key %d has %d bytes, want 16, 24 or 32 (32, 48 or 64 hex digits)", i+1, n)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// lbConfigError turns lb.New's field errors into one line naming the flag.
func lbConfigError(err error) error {
	var fe *lb.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	flags := map[string]string{
		"Targets": "targets", "Sticky": "sticky", "StickyDuration": "sticky-duration", "AppCookie": "app-cookie",
		"Algorithm": "algorithm", "HealthPath": "health-path", "HealthInterval": "health-interval",
		"HealthTimeout": "health-timeout", "HealthyThreshold": "healthy-threshold",
		"UnhealthyThreshold": "unhealthy-threshold", "DeregistrationDelay": "deregistration-delay",
		"CookieKeys": "cookie-key",
	}
	name, ok := flags[fe.Field]
	if !ok {
		return err
	}
	if fe.Field == "AppCookie" && fe.Value == "" {
		return usageError{fmt.Errorf("lb: -app-cookie %v (the name of the application's session cookie, e.g. -app-cookie stickylab_session)", fe.Err)}
	}
	return usageError{fmt.Errorf("lb: invalid value %q for -%s: %v", fe.Value, name, fe.Err)}
}
