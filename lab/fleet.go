package lab

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// knownStore reports whether an instance can run with store.
func knownStore(store string) bool {
	return store == "memory" || store == "redis" || store == "cookie"
}

// FleetConfig configures a Fleet. The zero value runs three memory-store
// instances of the running executable.
type FleetConfig struct {
	// Binary is the stickylab binary, run as "Binary app -listen ...".
	// Empty: os.Executable(), which is right for the stickylab binary itself.
	Binary string
	// Instances is how many instances, named app-1 … app-N. Zero: 3.
	Instances int
	// Store is the session store of every instance, "memory", "redis" or
	// "cookie".
	// Empty: memory.
	Store string
	// RedisURL is passed as -redis-url when Store is redis.
	RedisURL string
	// SessionKey is the session cookie key every instance shares, so that a
	// session moves between instances (with redis). It is handed over in the
	// environment (STICKYLAB_SESSION_KEY), which only the same user can read,
	// rather than on the command line, which ps shows to everyone. Empty:
	// each instance makes its own.
	SessionKey string
	// CookieName is the application's session cookie (-cookie-name). Empty:
	// the app's default.
	CookieName string
	// Args are more flags for every instance, after the ones above.
	Args []string
	// Env are more environment variables for every instance. The instances
	// get the lab's environment without its STICKYLAB_* variables, so that
	// they are configured by this struct alone.
	Env []string
	// ReadyTimeout bounds the wait for a started instance to answer /healthz.
	// Zero: 10s.
	ReadyTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	// Zero: 5s.
	StopTimeout time.Duration
	// Logger receives the instances' output, one debug record per line.
	// Nil: discarded.
	Logger *slog.Logger
	// OnChange, when set, is called with the new snapshot whenever an
	// instance becomes ready or its process ends. It is called from the
	// fleet's goroutines, one call at a time per instance, and must not block.
	OnChange func(Instance)
}

// Fleet is a set of app instances, each a child process of this one on a
// loopback port chosen once and kept across restarts, so that a balancer's
// target URL stays valid. Children are in their own process group (a Ctrl-C
// in the terminal reaches the lab alone, which then stops them in order) and
// get SIGKILL when the lab dies, even by SIGKILL. Its methods are safe for
// concurrent use.
type Fleet struct {
	cfg    FleetConfig
	spawn  *spawner
	health *http.Client
	list   []*instance // sorted by name, fixed by NewFleet

	// adminToken lets the fleet, and only it, call each instance's
	// PUT /admin/store (the in-place switch); random per fleet, handed over
	// in the environment like the session key.
	adminToken string

	mu      sync.Mutex // protects store and stopped
	store   string
	stopped bool
}

// NewFleet applies cfg's defaults and chooses the instances' ports; it
// starts nothing. The ports are the instances' for the fleet's life, so
// their URLs (Instances) can be handed to a balancer before Start. Call
// Stop when done with it, started or not.
func NewFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("fleet: find own binary: %w", err)
		}
		cfg.Binary = exe
	}
	cfg.Instances = cmp.Or(cfg.Instances, 3)
	cfg.Store = cmp.Or(cfg.Store, "memory")
	cfg.ReadyTimeout = cmp.Or(cfg.ReadyTimeout, 10*time.Second)
	cfg.StopTimeout = cmp.Or(cfg.StopTimeout, 5*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ports, err := freePorts(cfg.Instances)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	f := &Fleet{
		cfg:    cfg,
		spawn:  newSpawner(),
		health: &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		store:  cfg.Store,
		// The same shape as the session key: 32 random bytes, printable.
		adminToken: newSessionKey(),
	}
	for i, port := range ports {
		f.list = append(f.list, &instance{
			name:  "app-" + strconv.Itoa(i+1),
			port:  port,
			url:   "http://127.0.0.1:" + strconv.Itoa(port),
			state: StateStopped,
		})
	}
	return f, nil
}

// Start starts every instance and waits until each answers /healthz. On
// failure it stops the fleet. Call it once; Stop must follow either way.
func (f *Fleet) Start(ctx context.Context) error {
	err := f.each(func(in *instance) error {
		if f.isStopped() {
			return fmt.Errorf("start %s: %w", in.name, ErrFleetStopped)
		}
		return f.start(ctx, in)
	})
	if err != nil {
		f.Stop()
		return fmt.Errorf("fleet: %w", err)
	}
	return nil
}

// StartFleet is NewFleet followed by Start.
func StartFleet(ctx context.Context, cfg FleetConfig) (*Fleet, error) {
	f, err := NewFleet(cfg)
	if err != nil {
		return nil, err
	}
	if err := f.Start(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// Instances returns a snapshot of every instance, sorted by name.
func (f *Fleet) Instances() []Instance {
	out := make([]Instance, len(f.list))
	for i, in := range f.list {
		out[i] = in.snapshot()
	}
	return out
}

// Instance returns a snapshot of the named instance; ok is false when there
// is none.
func (f *Fleet) Instance(name string) (inst Instance, ok bool) {
	in := f.find(name)
	if in == nil {
		return Instance{}, false
	}
	return in.snapshot(), true
}

// Names returns the instance names, app-1 … app-N.
func (f *Fleet) Names() []string {
	names := make([]string, len(f.list))
	for i, in := range f.list {
		names[i] = in.name
	}
	return names
}

// Store returns the store the instances run with (or will, after a restart).
func (f *Fleet) Store() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.store
}

// Kill sends SIGKILL to the named instance and waits until its process has
// ended. The instance stays down (state killed) until Restart. It returns
// ErrUnknownInstance or ErrNotRunning, wrapped.
func (f *Fleet) Kill(name string) (Instance, error) {
	in := f.find(name)
	if in == nil {
		return Instance{}, fmt.Errorf("kill %s: %w", name, ErrUnknownInstance)
	}
	in.ops.Lock()
	defer in.ops.Unlock()
	done, err := in.end(true, false)
	if err != nil {
		return in.snapshot(), fmt.Errorf("kill %s: %w", name, err)
	}
	if done == nil {
		return in.snapshot(), fmt.Errorf("kill %s: %w", name, ErrNotRunning)
	}
	<-done // SIGKILL (TerminateProcess) cannot be caught; Wait's WaitDelay bounds the rest
	return in.snapshot(), nil
}

// Restart starts the named instance again, a new process with an empty
// memory (sessions in redis survive it), on the same port, and
// waits until it answers /healthz. A running instance is stopped first
// (SIGTERM, then SIGKILL after StopTimeout).
func (f *Fleet) Restart(ctx context.Context, name string) (Instance, error) {
	in := f.find(name)
	if in == nil {
		return Instance{}, fmt.Errorf("restart %s: %w", name, ErrUnknownInstance)
	}
	in.ops.Lock()
	defer in.ops.Unlock()
	if f.isStopped() {
		return in.snapshot(), fmt.Errorf("restart %s: %w", name, ErrFleetStopped)
	}
	if err := f.stop(in); err != nil {
		return in.snapshot(), fmt.Errorf("restart %s: %w", name, err)
	}
	err := f.start(ctx, in)
	return in.snapshot(), err
}

// SetStore restarts, one after the other, every instance that does not run
// the given store ("memory", "redis" or "cookie") yet; their sessions do
// not survive the switch. An instance already on that store is left alone, sessions
// and all: asking for the store in use changes nothing, and asking again
// after a switch that failed halfway finishes it.
func (f *Fleet) SetStore(ctx context.Context, store string) error {
	if !knownStore(store) {
		return fmt.Errorf("set store: %q is not memory, redis or cookie", store)
	}
	if store == "redis" && f.cfg.RedisURL == "" {
		return errors.New("set store: no redis url")
	}
	f.mu.Lock()
	f.store = store
	f.mu.Unlock()
	for _, in := range f.list {
		if in.snapshot().Store == store {
			continue
		}
		if _, err := f.Restart(ctx, in.name); err != nil {
			return fmt.Errorf("set store: %w", err)
		}
	}
	return nil
}

// MigrateToRedis switches every running instance on the memory store to
// Redis in place, without a restart: each reads Redis first and its own
// memory second, moving each session it finds in memory to Redis, so that
// nobody is logged out (compare SetStore, which restarts them and loses their
// memory). It calls each instance's PUT /admin/store with the fleet's admin
// token. An instance that is not running starts on Redis when restarted.
func (f *Fleet) MigrateToRedis(ctx context.Context) error {
	if f.cfg.RedisURL == "" {
		return errors.New("migrate to redis: no redis url")
	}
	if f.isStopped() {
		return fmt.Errorf("migrate to redis: %w", ErrFleetStopped)
	}
	f.mu.Lock()
	if f.store != "memory" && f.store != "redis" {
		defer f.mu.Unlock()
		return fmt.Errorf("migrate to redis: from %s: %w", f.store, ErrNotMemory)
	}
	f.store = "redis"
	f.mu.Unlock()
	err := f.each(func(in *instance) error {
		snap := in.snapshot()
		if !snap.Alive() || snap.Store != "memory" {
			return nil
		}
		if err := f.switchInPlace(ctx, snap.URL); err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		in.mu.Lock()
		in.store = "redis"
		in.mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate to redis: %w", err)
	}
	return nil
}

// switchInPlace asks the instance at url to switch to Redis, migrating.
func (f *Fleet) switchInPlace(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url+"/admin/store", strings.NewReader(`{"store":"redis","migrate":true}`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+f.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(io.LimitReader(resp.Body, 1<<10)).Decode(&e)
		return fmt.Errorf("switch refused: %s: %s", resp.Status, e.Error)
	}
	return nil
}

// Stop ends every instance: SIGTERM, then SIGKILL for those still alive
// after StopTimeout. It waits until every process has been reaped. Later
// calls to Restart fail with ErrFleetStopped; calling Stop again is a no-op.
func (f *Fleet) Stop() error {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return nil
	}
	f.stopped = true
	f.mu.Unlock()
	err := f.each(f.stop)
	f.spawn.close()
	return err
}

// each runs op on every instance at once, each with its ops lock held, and
// joins the errors.
func (f *Fleet) each(op func(*instance) error) error {
	errs := make([]error, len(f.list))
	var wg sync.WaitGroup
	for i, in := range f.list {
		wg.Go(func() {
			in.ops.Lock()
			defer in.ops.Unlock()
			errs[i] = op(in)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (f *Fleet) find(name string) *instance {
	i := slices.IndexFunc(f.list, func(in *instance) bool { return in.name == name })
	if i < 0 {
		return nil
	}
	return f.list[i]
}

func (f *Fleet) isStopped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped
}
