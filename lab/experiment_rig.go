package lab

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"stickylab/lb"
	"stickylab/lb/listener"
)

// rigConfig is the setup of one row of a scenario.
type rigConfig struct {
	Sticky string
	Store  string // the instances' store at start
	// Redis starts a Redis (or uses ExperimentConfig.RedisURL) even when
	// Store is not redis: the migrate scenario switches to it.
	Redis bool
	// Instances overrides ExperimentConfig.Instances when not zero.
	Instances int
	// Args are more app flags for every instance, such as -cas=false.
	Args []string
	// DeregistrationDelay of the balancer; zero: none.
	DeregistrationDelay time.Duration
	// Later are instances (app-N names) that run from the start but are
	// deregistered before the crowd arrives: registered later, as a new
	// instance of a scale-out.
	Later []string
	// Routing, when set, is the listener and target groups the row's
	// balancer serves (an lb.Router) for the fleet's instances, its health
	// checks as hc says; Sticky is then ignored, the groups say theirs, and
	// the rig's bal is the router's primary group.
	Routing func(instances []Instance, hc lb.Config) (*listener.Config, error)
}

// rigStopTimeout is how long a rig's instance may take to stop after
// SIGTERM before SIGKILL.
const rigStopTimeout = time.Second

// rig is one row's world: a fleet of real instance processes, a Redis
// when needed, and a balancer on a loopback port, with the transport the
// row's crowd shares.
type rig struct {
	fleet     *Fleet
	bal       *lb.Balancer
	redis     *EmbeddedRedis // nil with ExperimentConfig.RedisURL or without Redis
	redisURL  string
	base      string // the balancer's URL
	transport *http.Transport
	closers   []func()
	// slowChecks counts the times the balancer marked an instance unhealthy
	// because its health check timed out: a machine too loaded for the
	// crowd, which moves users as a crash would.
	slowChecks atomic.Int64
}

// startRig starts a row's world and waits until the balancer sees every
// instance healthy (but those of rc.Later, deregistered). Close it.
func startRig(ctx context.Context, cfg ExperimentConfig, rc rigConfig, label string) (_ *rig, err error) {
	r := &rig{transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer func() {
		if err != nil {
			r.Close()
			err = fmt.Errorf("%s: %w", label, err)
		}
	}()
	if rc.Store == "redis" || rc.Redis {
		r.redisURL = cfg.RedisURL
		if r.redisURL == "" {
			if r.redis, err = StartRedis(); err != nil {
				return nil, err
			}
			r.closers = append(r.closers, r.redis.Close)
			r.redisURL = r.redis.URL()
		}
	}
	instances := cfg.Instances
	if rc.Instances > 0 {
		instances = rc.Instances
	}
	if r.fleet, err = StartFleet(ctx, FleetConfig{
		Binary: cfg.Binary, Instances: instances, Store: rc.Store, RedisURL: r.redisURL,
		SessionKey: newSessionKey(), CookieName: AppCookie, Args: rc.Args,
		// A drained instance has nothing left to finish, and its
		// graceful stop closes at once a connection the balancer opened
		// and never used (internal/unusedconn): a second bounds a stop that
		// hangs all the same, then SIGKILL.
		StopTimeout: rigStopTimeout,
		Logger:      cfg.Logger.With("cell", label),
	}); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { r.fleet.Stop() })
	delay := cmp.Or(rc.DeregistrationDelay, -1) // lb.Config: negative is none
	bcfg := lb.Config{
		Targets: fleetTargets(r.fleet), Sticky: rc.Sticky, StickyDuration: cfg.StickyDuration, AppCookie: AppCookie,
		HealthInterval: cfg.HealthInterval, HealthTimeout: cfg.HealthInterval / 2,
		HealthyThreshold: 2, UnhealthyThreshold: 2, DeregistrationDelay: delay,
		PassiveFailover: cfg.PassiveFailover, Logger: cfg.Logger.With("cell", label),
	}
	var served demoBalancer
	targets := func() []lb.TargetStatus { return r.bal.Targets() }
	if rc.Routing == nil {
		if r.bal, err = lb.New(bcfg); err != nil {
			return nil, err
		}
		served = r.bal
	} else {
		file, err := rc.Routing(r.fleet.Instances(), bcfg)
		if err != nil {
			return nil, err
		}
		rt, err := lb.NewRouter(file, lb.Config{PassiveFailover: bcfg.PassiveFailover, Logger: bcfg.Logger})
		if err != nil {
			return nil, err
		}
		r.bal, served = rt.Primary(), rt
		targets = func() []lb.TargetStatus { return routerTargets(rt) }
	}
	for _, name := range rc.Later {
		r.bal.Drain(name)
	}
	events, unsubscribe := served.Subscribe()
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		for e := range events {
			if e.Kind == lb.EventTarget && e.State == lb.StateUnhealthy && strings.Contains(e.Reason, "timeout") {
				r.slowChecks.Add(1)
			}
		}
	}()
	r.closers = append(r.closers, func() {
		unsubscribe()
		<-counted
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.base = "http://" + ln.Addr().String()
	serveCtx, stopServe := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- served.Serve(serveCtx, ln, nil) }()
	r.closers = append(r.closers, func() {
		stopServe()
		<-stopped
	})
	// Closed before the balancer stops: http.Server.Shutdown waits 5s for a
	// connection dialed but never used, as the crowd's transport leaves some.
	r.closers = append(r.closers, r.transport.CloseIdleConnections)
	var serving []string
	for _, name := range r.fleet.Names() {
		if !slices.Contains(rc.Later, name) {
			serving = append(serving, name)
		}
	}
	if err := awaitTargetsOf(ctx, targets, serving...); err != nil {
		return nil, err
	}
	return r, nil
}

// crowd makes n users of this rig, numbered from first on.
func (r *rig) crowd(first, n int) ([]*user, error) {
	return newCrowdFrom(first, n, r.base, r.transport)
}

// Close stops everything the rig started, the last started first.
func (r *rig) Close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}
