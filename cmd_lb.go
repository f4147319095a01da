package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strings"

	"stickylab/lab"
	"stickylab/lb"
)

// lbCommandDefaults are the balancer flags' defaults of "stickylab lb".
func lbCommandDefaults() lbDefaults {
	return lbDefaults{
		sticky: lb.StickyNone, appCookie: "", appCookieOn: " (required with it)",
		healthInterval: lb.DefaultHealthInterval, healthTimeout: lb.DefaultHealthTimeout,
		deregistrationDelay: lb.DefaultDeregistrationDelay,
	}
}

// runLB runs the load balancer: flags and environment into lb.Config, then
// lb.Serve until ctx is done.
func runLB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lb")
	listen := fs.String("listen", ":8080", "address of the balancer (what clients connect to)")
	admin := fs.String("admin", "127.0.0.1:8081", "address of the admin API and dashboard (no authentication: keep it private)")
	targets := fs.String("targets", "", "comma-separated [name=]URL targets, e.g. app-1=http://app1:8080,app-2=http://app2:8080 (name defaults to host:port)")
	bf := balancerFlags(fs, lbCommandDefaults())
	if err := parseFlags(fs, args, stdout); err != nil {
		return helpOrErr(err)
	}

	if *bf.configFile != "" {
		return runLBConfig(ctx, fs, bf, *admin, stderr)
	}
	if err := checkListeners("lb", *listen, *admin); err != nil {
		return err
	}
	if *targets == "" {
		return usageError{errors.New("lb: -targets is required: comma-separated [name=]URL, e.g. app-1=http://127.0.0.1:8001")}
	}
	ts, err := lb.ParseTargets(*targets)
	if err != nil {
		return badValue("lb", "targets", *targets, err.Error())
	}
	cfg, err := bf.config("lb")
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg.Targets, cfg.Logger = ts, log
	b, err := lb.New(cfg)
	if err != nil {
		return lbConfigError("lb", err)
	}
	proxyGC()

	proxyLn, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("lb: -listen: %w", err)
	}
	adminLn, err := net.Listen("tcp", *admin)
	if err != nil {
		proxyLn.Close()
		return fmt.Errorf("lb: -admin: %w", err)
	}
	warnRandomKey(log, cfg)
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name + "=" + t.URL.String()
	}
	log.Info("lb: serving", "listen", proxyLn.Addr().String(), "admin", adminLn.Addr().String(),
		"open", openURL(cfg.PublicURL, proxyLn.Addr().String()), "dashboard", lab.LocalURL(adminLn.Addr().String())+"/",
		"targets", strings.Join(names, ","), "sticky", cfg.Sticky, "algorithm", cfg.Algorithm,
		"passive_failover", cfg.PassiveFailover, "version", version)
	return b.Serve(ctx, proxyLn, adminLn)
}

// openURL is where a user opens the balancer: the -public-url when given (a
// URL without a host, meaning the dashboard's own, shown on 127.0.0.1),
// else the listener at a reachable address.
func openURL(public, listen string) string {
	u, err := url.Parse(public)
	if public == "" || err != nil {
		return lab.LocalURL(listen) + "/"
	}
	if u.Hostname() == "" {
		u.Host = net.JoinHostPort("127.0.0.1", u.Port())
	}
	return u.String()
}

// proxyGC sets the garbage collector for a proxy.
func proxyGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		// A proxy's heap is small and its garbage short-lived: collecting
		// a quarter as often saved about 5% CPU per request in
		// scripts/bench-lb.sh. GOGC in the environment still wins.
		debug.SetGCPercent(400)
	}
}

func warnRandomKey(log *slog.Logger, cfg lb.Config) {
	if len(cfg.CookieKeys) == 0 {
		log.Warn("lb: no -cookie-key, using a random one: sticky cookies will not survive a restart")
	}
}

// runLBConfig is runLB with -config: the file's listener, rules and target
// groups, served by lb.Router.
func runLBConfig(ctx context.Context, fs *flag.FlagSet, bf *lbFlags, admin string, stderr io.Writer) error {
	if err := checkNotMixed("lb", fs); err != nil {
		return err
	}
	file, err := loadConfigFile(*bf.configFile)
	if err != nil {
		return err
	}
	if err := checkListeners("lb", file.Listener.Listen, admin); err != nil {
		return err
	}
	cfg, err := bf.config("lb")
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg.Logger = log
	rt, err := lb.NewRouter(file, sharedSettings(cfg))
	if err != nil {
		return routerError("lb", *bf.configFile, err)
	}
	proxyGC()
	proxyLn, err := net.Listen("tcp", file.Listener.Listen)
	if err != nil {
		return fmt.Errorf("lb: -config %s: listener.listen: %w", *bf.configFile, err)
	}
	adminLn, err := net.Listen("tcp", admin)
	if err != nil {
		proxyLn.Close()
		return fmt.Errorf("lb: -admin: %w", err)
	}
	if addr := file.Listener.HTTPRedirect; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			proxyLn.Close()
			adminLn.Close()
			return fmt.Errorf("lb: -config %s: listener.http_redirect: %w", *bf.configFile, err)
		}
		rt.SetHTTPRedirectListener(ln)
		log.Info("lb: redirecting HTTP to HTTPS", "listen", ln.Addr().String())
	}
	open := openURL(cfg.PublicURL, proxyLn.Addr().String())
	if file.Listener.Protocol == "HTTPS" {
		open = strings.Replace(open, "http://", "https://", 1)
	}
	warnRandomKey(log, cfg)
	groups := make([]string, len(file.TargetGroups))
	for i, tg := range file.TargetGroups {
		groups[i] = tg.Name
	}
	log.Info("lb: serving", "config", *bf.configFile, "listen", proxyLn.Addr().String(), "admin", adminLn.Addr().String(),
		"open", open, "dashboard", lab.LocalURL(adminLn.Addr().String())+"/",
		"target_groups", strings.Join(groups, ","), "rules", len(file.Listener.Rules),
		"passive_failover", cfg.PassiveFailover, "version", version)
	return rt.Serve(ctx, proxyLn, adminLn)
}

// sharedSettings is cfg with only the settings that apply to every target
// group of a configuration file kept.
func sharedSettings(cfg lb.Config) lb.Config {
	return lb.Config{
		PassiveFailover: cfg.PassiveFailover, CookieKeys: cfg.CookieKeys, Logger: cfg.Logger,
		StickinessHeader: cfg.StickinessHeader, PublicURL: cfg.PublicURL, Engine: cfg.Engine,
		AdminHosts: cfg.AdminHosts, AdminRoutes: cfg.AdminRoutes, DashboardScript: cfg.DashboardScript,
		MaxEventSubscribers: cfg.MaxEventSubscribers, ShutdownTimeout: cfg.ShutdownTimeout,
	}
}
