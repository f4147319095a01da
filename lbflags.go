package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"stickylab/internal/duration"
	"stickylab/lb"
)

// lbDefaults are the defaults that differ between "stickylab lb" (ALB's
// stickiness, none, and lb's 5s health checks) and "stickylab demo" (snappy,
// so that a kill shows at once, and the blog's app stickiness).
type lbDefaults struct {
	sticky, appCookie               string
	healthInterval, healthTimeout   time.Duration
	deregistrationDelay             time.Duration
	stickinessHeader                bool
	healthIntervalNote, appCookieOn string // extra words for -h
}

// lbFlags are the balancer's stickiness and health flags, shared in name
// and range by "stickylab lb" and "stickylab demo".
type lbFlags struct {
	sticky, algorithm                    *choiceFlag
	stickyDuration, healthInterval       *durationFlag
	healthTimeout, deregistrationDelay   *durationFlag
	healthyThreshold, unhealthyThreshold *intFlag
	appCookie, healthPath, cookieKey     *string
	passiveFailover, stickinessHeader    *bool

	publicURL  *string // where browsers reach the balancer, for the dashboard
	engine     *choiceFlag
	adminHost  *string // names besides loopback that the admin listener answers to
	configFile *string // the configuration file (listener, rules, target groups); empty: the flags' one group
}

// balancerFlags defines the balancer flags on fs with the defaults d.
func balancerFlags(fs *flag.FlagSet, d lbDefaults) *lbFlags {
	f := &lbFlags{
		sticky:              newChoice(d.sticky, lb.StickyNone, lb.StickyDuration, lb.StickyApp),
		algorithm:           newChoice(lb.RoundRobin, lb.RoundRobin, lb.LeastOutstandingRequests),
		stickyDuration:      newDuration(lb.DefaultStickyDuration, lb.MinStickyDuration, lb.MaxStickyDuration),
		healthInterval:      newDuration(d.healthInterval, time.Second, 5*time.Minute),
		healthTimeout:       newDuration(d.healthTimeout, 100*time.Millisecond, 2*time.Minute),
		deregistrationDelay: newDuration(d.deregistrationDelay, 0, time.Hour),
		healthyThreshold:    newInt(lb.DefaultHealthyThreshold, 2, 10),
		unhealthyThreshold:  newInt(lb.DefaultUnhealthyThreshold, 2, 10),
		engine:              newChoice(lb.EngineStd, lb.EngineStd, lb.EngineFast),
	}
	fs.Var(f.sticky, "sticky", "stickiness: none, duration (AWSALB cookie) or app (AWSALBAPP-0, follows -app-cookie)")
	fs.Var(f.stickyDuration, "sticky-duration", "how long a client stays on its target without a request (1s to 168h)")
	f.appCookie = fs.String("app-cookie", d.appCookie, "the application's session cookie that -sticky app follows"+d.appCookieOn+" (names starting with AWSALB are reserved)")
	fs.Var(f.algorithm, "algorithm", "how a new client's target is picked: round_robin or least_outstanding_requests")
	f.healthPath = fs.String("health-path", lb.DefaultHealthPath, "path of the health check")
	fs.Var(f.healthInterval, "health-interval", "time between health checks of a target, 1s to 5m"+d.healthIntervalNote)
	fs.Var(f.healthTimeout, "health-timeout", "time a health check may take, shorter than -health-interval (100ms to 2m); when not given, the shorter of "+duration.Short(d.healthTimeout)+" and half of -health-interval")
	fs.Var(f.healthyThreshold, "healthy-threshold", "passed checks in a row that make an unhealthy target healthy (2 to 10)")
	fs.Var(f.unhealthyThreshold, "unhealthy-threshold", "failed checks in a row that make a target unhealthy (2 to 10)")
	fs.Var(f.deregistrationDelay, "deregistration-delay", "how long a draining target may finish its in-flight requests (0 to 1h)")
	f.passiveFailover = boolVar(fs, "passive-failover", true, "retry a request on another target when its own refused it; false behaves like ALB: 502 until the health check notices")
	f.cookieKey = fs.String("cookie-key", "", "hex AES key(s) of the sticky cookies, 16, 24 or 32 bytes, comma-separated newest first for rotation (empty: random, cookies do not survive a restart)")
	f.stickinessHeader = boolVar(fs, "stickiness-header", d.stickinessHeader, "tell the targets in a request header ("+lb.StickinessHeader+") what the balancer decided, for the app's page (ALB sends no such header)")
	f.publicURL = fs.String("public-url", "", "the balancer's URL as browsers reach it, where the dashboard shows the shop, when that is not the dashboard's host on the -listen port (a container's published port): e.g. http://localhost:28080/, or http://:28080/ for the dashboard's own host (empty: the -listen port)")
	f.adminHost = fs.String("admin-host", "", "comma-separated host names the admin listener answers to besides localhost and loopback addresses (the name in the browser's address bar, or a container's service name); any other Host gets 421, against DNS rebinding")
	f.configFile = fs.String("config", "", "a YAML file with the listener, its rules and target groups (docs/config.md); it replaces -listen, -targets and the stickiness, algorithm and health flags, which cannot be given with it")
	fs.Var(f.engine, "engine", "what serves the balancer's listener: std (net/http, the reference) or fast (lb's own HTTP/1.1 engine, less CPU per request)")
	return f
}

// config turns the parsed flags into an lb.Config without targets; cmd
// names the command in errors.
func (f *lbFlags) config(cmd string) (lb.Config, error) {
	interval, timeout := f.healthInterval.value, f.healthTimeout.value
	switch {
	case f.healthTimeout.given == "":
		// ALB's rule, a timeout shorter than the interval, binds the
		// values the user gave; the default follows a short interval
		// instead of refusing it (-health-interval 1s alone).
		timeout = min(timeout, interval/2)
	case timeout >= interval:
		return lb.Config{}, badValue(cmd, "health-timeout", f.healthTimeout.given,
			"must be shorter than -health-interval ("+duration.Short(interval)+")")
	}
	keys, err := parseCookieKeys(*f.cookieKey)
	if err != nil {
		return lb.Config{}, badSecret(cmd, "cookie-key", err.Error())
	}
	delay := f.deregistrationDelay.value
	if delay == 0 {
		delay = -1 // lb.Config: zero means the default, negative none
	}
	return lb.Config{
		Sticky: f.sticky.value, StickyDuration: f.stickyDuration.value, AppCookie: *f.appCookie,
		Algorithm: f.algorithm.value, HealthPath: *f.healthPath,
		HealthInterval: interval, HealthTimeout: timeout,
		HealthyThreshold: f.healthyThreshold.value, UnhealthyThreshold: f.unhealthyThreshold.value,
		DeregistrationDelay: delay, PassiveFailover: *f.passiveFailover, CookieKeys: keys,
		StickinessHeader: *f.stickinessHeader, PublicURL: *f.publicURL, Engine: f.engine.value,
		AdminHosts: splitList(*f.adminHost),
	}, nil
}

// splitList returns the comma-separated items of s, spaces trimmed, empty
// ones left out.
func splitList(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
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
			return nil, fmt.Errorf("key %d is not hex: want hex keys of 32, 48 or 64 digits, comma-separated", i+1)
		}
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("key %d has %d bytes, want 16, 24 or 32 (32, 48 or 64 hex digits)", i+1, n)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// lbConfigError turns lb.New's field errors into one line naming the flag;
// cmd names the command.
func lbConfigError(cmd string, err error) error {
	var fe *lb.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	flags := map[string]string{
		"Targets": "targets", "Sticky": "sticky", "StickyDuration": "sticky-duration", "AppCookie": "app-cookie",
		"Algorithm": "algorithm", "HealthPath": "health-path", "HealthInterval": "health-interval",
		"HealthTimeout": "health-timeout", "HealthyThreshold": "healthy-threshold",
		"UnhealthyThreshold": "unhealthy-threshold", "DeregistrationDelay": "deregistration-delay",
		"CookieKeys": "cookie-key", "PublicURL": "public-url", "Engine": "engine",
		"AdminHosts": "admin-host",
	}
	name, ok := flags[fe.Field]
	if !ok {
		return err
	}
	if fe.Field == "AppCookie" && fe.Value == "" {
		return usageError{fmt.Errorf("%s: -app-cookie %v (the name of the application's session cookie, e.g. -app-cookie stickylab_session)", cmd, fe.Err)}
	}
	return badValue(cmd, name, fe.Value, fe.Err.Error())
}
