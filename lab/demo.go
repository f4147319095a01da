package lab

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"stickylab/lb"
	"stickylab/lb/listener"
)

// DemoConfig configures RunDemo. The zero value of every field works.
type DemoConfig struct {
	// Listen is the balancer's address, what the learner opens. Default
	// 127.0.0.1:8080.
	Listen string
	// Admin is the address of the dashboard and admin API, instance kill
	// and restart included. Default 127.0.0.1:8081.
	Admin string
	// Binary, Instances and Store are as in FleetConfig (defaults: this
	// executable, 3, memory).
	Binary    string
	Instances int
	Store     string
	// LastWriterWins starts every instance with -cas=false: compare-and-set
	// off, for the lesson on lost updates only.
	LastWriterWins bool
	// NoRedisCache starts every instance with -redis-cache=false: every
	// load asks Redis, as before the cache.
	NoRedisCache bool
	// MigrateFrom, "memory" with the redis store, starts every instance
	// with -migrate-from memory. Empty: none.
	MigrateFrom string
	// RedisURL is the Redis of the redis store. Empty: an embedded Redis
	// on a free loopback port, started even with the memory store so that
	// PUT /api/store can switch at run time.
	RedisURL string
	// Balancer configures the balancer; the demo fills in Targets,
	// AdminRoutes and Logger, and the app cookie when it is empty. With a
	// Setup or File, its health check and deregistration settings apply to
	// a setup's groups, and its shared settings (cookie keys, passive
	// failover …) to every group.
	Balancer lb.Config
	// LBNodes is how many balancer nodes serve the instances, 1 to
	// MaxLBNodes, with the same cookie keys and targets and each its own
	// health checks: node 1 on Listen, the others on the next free ports.
	// Zero: 1.
	LBNodes int
	// Setup is one of Setups; empty means SetupDefault.
	Setup string
	// File is a configuration file (lb -config) whose targets are the
	// instances by name (their URLs are replaced); nil: Setup.
	File *listener.Config
	// Out receives the banner and the story, one line per event. Default:
	// io.Discard.
	Out io.Writer
	// Logger receives the logs of the balancer and the instances; nil
	// discards them.
	Logger *slog.Logger
}

// RunDemo runs the whole lab until ctx is done: the embedded Redis, the
// instances, the balancer. It prints a banner once everything is ready,
// then one line per event. When ctx is done it stops everything in the
// reverse order of start and returns nil; it returns an error when
// something cannot start.
func RunDemo(ctx context.Context, cfg DemoConfig) error {
	cfg.Listen = cmp.Or(cfg.Listen, "127.0.0.1:8080")
	cfg.Admin = cmp.Or(cfg.Admin, "127.0.0.1:8081")
	cfg.Out = cmp.Or[io.Writer](cfg.Out, io.Discard)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Balancer.AppCookie = cmp.Or(cfg.Balancer.AppCookie, AppCookie)
	bcfg := cfg.Balancer
	bcfg.Logger = cfg.Logger
	bcfg.ShutdownTimeout = cmp.Or(bcfg.ShutdownTimeout, shutdownGrace)
	cfg.LBNodes = cmp.Or(cfg.LBNodes, 1)
	if cfg.LBNodes < 1 || cfg.LBNodes > MaxLBNodes {
		return fmt.Errorf("demo: %d balancer nodes: 1 to %d", cfg.LBNodes, MaxLBNodes)
	}
	if len(bcfg.CookieKeys) == 0 {
		// One key for every node, as ALB's nodes share theirs: a cookie
		// one node wrote, another reads.
		key := make([]byte, 32)
		rand.Read(key)
		bcfg.CookieKeys = [][]byte{key}
	}

	// The whole configuration before anything starts: a bad setting costs
	// no port and no process, and is not hidden behind a port in use.
	if err := bcfg.CheckSettings(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	// The listeners next: a port in use is the likeliest failure, and
	// should cost nothing to report.
	proxyLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("demo: balancer: %w", err)
	}
	adminLn, err := net.Listen("tcp", cfg.Admin)
	if err != nil {
		proxyLn.Close()
		return fmt.Errorf("demo: admin: %w", err)
	}
	moreLns, err := listenNodes(proxyLn, cfg.LBNodes)
	if err != nil {
		proxyLn.Close()
		adminLn.Close()
		return fmt.Errorf("demo: %w", err)
	}
	serveStarted := false
	defer func() {
		if !serveStarted { // Serve closes them otherwise
			proxyLn.Close()
			adminLn.Close()
			for _, ln := range moreLns {
				ln.Close()
			}
		}
	}()

	redisURL, embedded := cfg.RedisURL, (*EmbeddedRedis)(nil)
	if redisURL == "" {
		if embedded, err = StartRedis(); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer embedded.Close()
		redisURL = embedded.URL()
	}

	n := newNarrator(cfg.Out)
	var appArgs []string
	if cfg.LastWriterWins {
		appArgs = append(appArgs, "-cas=false")
	}
	if cfg.NoRedisCache {
		appArgs = append(appArgs, "-redis-cache=false")
	}
	if cfg.MigrateFrom != "" {
		appArgs = append(appArgs, "-migrate-from", cfg.MigrateFrom)
	}
	fleet, err := NewFleet(FleetConfig{
		Binary: cfg.Binary, Instances: cfg.Instances, Store: cfg.Store, RedisURL: redisURL,
		SessionKey: newSessionKey(), CookieName: cfg.Balancer.AppCookie, Args: appArgs,
		Logger: cfg.Logger, OnChange: n.instanceChanged,
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer fleet.Stop()

	bcfg.Targets = fleetTargets(fleet)
	nodes := &nodeList{}
	instanceRoutes := InstanceRoutes(fleet)
	bcfg.AdminRoutes = func(mux *http.ServeMux) { instanceRoutes(mux); nodes.routes(mux) }
	bcfg.DashboardScript = dashboardScript + nodesScript
	bal, targets, routing, err := newDemoBalancer(cfg, bcfg, fleet)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	nodes.nodes = []*lbNode{{name: "lb-1", ln: proxyLn, bal: bal, targets: targets}}
	for i, ln := range moreLns {
		b, t, _, err := newDemoBalancer(cfg, bcfg, fleet)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		nodes.nodes = append(nodes.nodes, &lbNode{name: "lb-" + strconv.Itoa(i+2), ln: ln, bal: b, targets: t})
	}
	if err := fleet.Start(ctx); err != nil {
		if ctx.Err() != nil { // Ctrl-C during the start: not a failure
			return nil
		}
		return fmt.Errorf("demo: %w", err)
	}
	events, unsubscribe := bal.Subscribe()
	defer unsubscribe()
	// The balancer serves until stopBalancer, or until it fails, which
	// ends the demo too (running ends).
	running, cancelRunning := context.WithCancel(ctx)
	defer cancelRunning()
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, len(nodes.nodes))
	serveStarted = true
	for i, node := range nodes.nodes {
		admin := adminLn // node 1's: the dashboard and admin API
		if i > 0 {
			admin = nil
		}
		go func() {
			served <- node.bal.Serve(serveCtx, node.ln, admin)
			cancelRunning()
		}()
	}
	stopBalancer := func() error {
		stopServe()
		var errs []error
		for range nodes.nodes {
			errs = append(errs, <-served)
		}
		return errors.Join(errs...)
	}

	if err := awaitNodes(running, nodes.nodes, fleet.Names()); err != nil {
		serr := stopBalancer()
		if ctx.Err() != nil {
			return nil
		}
		return errors.Join(fmt.Errorf("demo: %w", err), serr)
	}
	// Before the banner: a client that reads it may act at once, and what it
	// does is news (instance changes wait in the narrator's channel, so no
	// line comes in the middle of the banner).
	n.start()
	writeBanner(cfg.Out, banner{
		proxy: proxyLn.Addr().String(), admin: adminLn.Addr().String(),
		redis: redisURL, embedded: embedded != nil,
		stickiness: stickinessOf(bal), routing: routing, lb: bcfg, instances: fleet.Instances(), store: fleet.Store(),
		lwwNote: cfg.LastWriterWins, nodes: nodes.nodes[1:],
	})

	// The story goes on until ctx is done; instance changes arrive through
	// the narrator's own channel, balancer events through events.
	n.tell(running, events)
	n.line("stopping: the balancer, then the instances")
	err = stopBalancer()
	if serr := fleet.Stop(); serr != nil {
		err = errors.Join(err, fmt.Errorf("demo: %w", serr))
	}
	n.line("stopped")
	return err
}

// shutdownGrace is how long RunDemo lets in-flight requests finish.
const shutdownGrace = 5 * time.Second
