package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"stickylab/app"
	"stickylab/internal/unusedconn"
	"stickylab/lab"
	"stickylab/sessionstore"
)

// The app's HTTP server limits. IdleTimeout is longer than ALB's default
// idle timeout (60s), as AWS advises for targets, so that the balancer, not
// the app, closes idle keep-alive connections and never sends a request on
// one the app is closing.
const (
	appReadHeaderTimeout = 5 * time.Second
	appReadTimeout       = 10 * time.Second
	appWriteTimeout      = 30 * time.Second
	appIdleTimeout       = 120 * time.Second
	appMaxHeaderBytes    = 64 << 10
	appShutdownTimeout   = 10 * time.Second
	appStartPingTimeout  = 2 * time.Second
	appParentPoll        = 500 * time.Millisecond
)

// runApp runs one application instance until ctx is done, then shuts it
// down gracefully: in-flight requests finish, then the store closes.
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("app")
	listen := fs.String("listen", ":8080", "address to listen on")
	name := fs.String("name", "", "instance name shown on the page and in the X-Stickylab-Instance header (default: the host name)")
	store := newChoice("memory", "memory", "redis", "cookie")
	fs.Var(store, "store", "where sessions live: memory (this process only), redis (shared by every instance using the same Redis and -session-key) or cookie (the whole session, encrypted, in the browser's cookie: no server state, at most 4096 bytes)")
	redisURL := fs.String("redis-url", "redis://127.0.0.1:6379/0", "Redis for -store redis: redis://, rediss://, redis+sentinel:// or redis+cluster:// URL")
	sessionKey := fs.String("session-key", "", "secret(s) signing the session cookie, comma-separated, newest first (older ones still verify); instances sharing sessions must share it; empty: a random key")
	cookieName := fs.String("cookie-name", app.DefaultCookieName, "name of the session cookie")
	idle := newDuration(30*time.Minute, time.Second, 7*24*time.Hour)
	fs.Var(idle, "idle-timeout", "a session ends after this long without a request (1s to 168h)")
	lifetime := newDuration(24*time.Hour, time.Minute, 365*24*time.Hour)
	fs.Var(lifetime, "lifetime", "a session ends this long after it began, however active (1m to 8760h)")
	migrateFrom := newChoice("", "memory")
	fs.Var(migrateFrom, "migrate-from", "with -store redis: memory moves each session Redis lacks from this process's memory store to Redis on its first load, so a move to Redis logs nobody out (it matters after an in-place switch, PUT /admin/store)")
	adminToken := fs.String("admin-token", "", "a secret that turns on PUT /admin/store, the in-place switch from memory to redis, for requests with the header Authorization: Bearer TOKEN; the lab passes one (in STICKYLAB_ADMIN_TOKEN); empty: no admin route")
	cas := boolVar(fs, "cas", true, "compare-and-set on every session write (memory, redis); false: last writer wins and a session's requests are no longer serialised, so concurrent changes are lost, as with the usual gorilla stores: for the lesson on lost updates only")
	redisCache := boolVar(fs, "redis-cache", true, "with -store redis: keep a copy of the sessions this instance loads and writes, kept valid by Redis's invalidations (CLIENT TRACKING), so that a load of a copy it holds costs no round trip; a change made on another instance is seen here within 1s at most (in practice a millisecond), and the compare-and-set still decides every write; off by itself with Sentinel, Cluster or a Redis without RESP3")
	if err := parseFlags(fs, args, stdout); err != nil {
		return helpOrErr(err)
	}
	if err := checkInstanceName(*name); err != nil {
		return badValue("app", "name", *name, err.Error())
	}
	if (&http.Cookie{Name: *cookieName, Value: "x"}).Valid() != nil {
		return badValue("app", "cookie-name", *cookieName, "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)")
	}
	if _, _, err := splitListenAddr("app", "listen", *listen); err != nil {
		return err
	}
	if migrateFrom.value != "" && store.value != "redis" {
		return badValue("app", "migrate-from", migrateFrom.value, "only with -store redis")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	// The Redis URL is checked before the session key, whose warning
	// would otherwise come before the error that stops the program.
	var rc redis.UniversalClient
	if store.value == "redis" || *adminToken != "" {
		// go-redis logs dial failures through a process-wide logger; route
		// them to ours at debug level, since every request that fails for
		// them is already answered 503 and logged by the app.
		redis.SetLogger(redisLogger{log})
		var err error
		if rc, err = newRedisClient("app", *redisURL); err != nil {
			return err
		}
	}
	if store.value != "redis" && rc != nil {
		// Parsed only, for an in-place switch, which makes its own.
		rc.Close()
		rc = nil
	}
	closeClient := func() {
		if rc != nil {
			rc.Close()
		}
	}
	ctx, cancel, err := watchParent(ctx, log)
	if err != nil {
		closeClient()
		return err
	}
	defer cancel()
	keys, err := sessionKeys(*sessionKey, log)
	if err != nil {
		closeClient()
		return badSecret("app", "session-key", err.Error())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	scfg := sessionstore.Config{
		IdleTimeout:    idle.value,
		Lifetime:       lifetime.value,
		Rank:           app.SessionRank,
		Metrics:        sessionstore.NewMetrics(reg),
		LastWriterWins: !*cas,
		Logger:         log,
	}
	if *redisCache {
		scfg.Cache = &sessionstore.CacheConfig{}
	}
	if !*cas {
		log.Warn("app: -cas=false: compare-and-set is off; concurrent changes to one session overwrite each other (lost updates). For the lesson on lost updates only")
	}
	stores := &appStores{redisURL: *redisURL, keys: keys, cfg: scfg}
	st, err := stores.open(store.value, migrateFrom.value, rc)
	// Closed in reverse order of opening, after the server has shut down.
	defer stores.close()
	if err != nil {
		return err
	}

	acfg := app.Config{Name: *name, CookieName: *cookieName, Logger: log, Registry: reg, NoSessionLock: !*cas}
	if *adminToken != "" {
		acfg.AdminToken, acfg.SwitchStore = *adminToken, stores.switchStore
	}
	a, err := app.New(acfg, st)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("app: -listen: %w", err)
	}
	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: appReadHeaderTimeout,
		ReadTimeout:       appReadTimeout,
		WriteTimeout:      appWriteTimeout,
		IdleTimeout:       appIdleTimeout,
		MaxHeaderBytes:    appMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("app: serving", "name", a.Name(), "listen", ln.Addr().String(), "store", st.Mode(), "version", version)

	// A store that is down at start is no reason to exit: /readyz says 503
	// until it answers, and the app recovers by itself.
	pingCtx, cancel := context.WithTimeout(ctx, appStartPingTimeout)
	if err := st.Ping(pingCtx); err != nil {
		log.Warn("app: session store not reachable yet; /readyz answers 503 until it is", "err", err)
	}
	cancel()

	return serveApp(ctx, srv, ln, log.With("name", a.Name()))
}

// serveApp serves srv on ln until ctx is done, then shuts it down
// gracefully: requests in flight finish (appShutdownTimeout at most), and
// connections that carry none close at once, those that never sent a byte
// included (unusedconn).
func serveApp(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- unusedconn.Serve(srv, ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("app: serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("app: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), appShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("app: shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("app: serve: %w", err)
	}
	return nil
}

// sessionKeys parses -session-key: comma-separated secrets, newest first.
// Empty means one random key, with a warning, since sessions signed with it
// die with the process and no other instance can read them.
func sessionKeys(s string, log *slog.Logger) ([][]byte, error) {
	if s == "" {
		key := make([]byte, 32)
		rand.Read(key)
		log.Warn("app: no -session-key, using a random one: sessions will not survive a restart or move between instances")
		return [][]byte{key}, nil
	}
	var keys [][]byte
	for i, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k == "" {
			return nil, fmt.Errorf("key %d is empty", i+1)
		}
		keys = append(keys, []byte(k))
	}
	// Warned only once every key is known good: an error stops the
	// program with one line.
	for i, k := range keys {
		if len(k) < 16 {
			log.Warn("app: short -session-key: use at least 32 random characters outside a lab", "key", i+1, "length", len(k))
		}
	}
	return keys, nil
}

// watchParent returns ctx, also cancelled once the process whose PID is in
// lab.ParentPIDEnv is no longer this one's parent. The lab sets it on Unix
// systems without Pdeathsig (macOS, the BSDs), so that an instance does not outlive
// a lab killed with SIGKILL: an orphan gets a new parent, which polling
// Getppid notices portably. Unset: ctx as it is.
func watchParent(ctx context.Context, log *slog.Logger) (context.Context, context.CancelFunc, error) {
	v, ok := os.LookupEnv(lab.ParentPIDEnv)
	if !ok {
		return ctx, func() {}, nil
	}
	pid, err := strconv.Atoi(v)
	if err != nil || pid <= 0 {
		return nil, nil, usageError{fmt.Errorf("app: invalid value %q for %s: must be a process ID", v, lab.ParentPIDEnv)}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		tick := time.NewTicker(appParentPoll)
		defer tick.Stop()
		// Checked at once too: the parent may have died before we started.
		for os.Getppid() == pid {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		log.Info("app: parent process gone, shutting down", "parent", pid)
		cancel()
	}()
	return ctx, cancel, nil
}

// checkInstanceName accepts names that read well on the page and in a
// header: empty (the host name), or up to 64 printable characters without
// spaces.
func checkInstanceName(name string) error {
	if len(name) > 64 {
		return errors.New("at most 64 characters")
	}
	for _, c := range name {
		if !unicode.IsPrint(c) || unicode.IsSpace(c) {
			return errors.New("printable characters without spaces only")
		}
	}
	return nil
}

// redisLogger hands go-redis's internal log lines to slog at debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// newRedisClient is sessionstore.NewRedisClient for the -redis-url of the
// command cmd, with its error as a usage error.
func newRedisClient(cmd, rawURL string) (redis.UniversalClient, error) {
	rc, err := sessionstore.NewRedisClient(rawURL)
	if err != nil {
		return nil, badSecret(cmd, "redis-url", err.Error())
	}
	return rc, nil
}
