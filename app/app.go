// Package app is the stickylab web application: one instance of the shop
// whose page shows which instance served it, who is logged in, the cart and a
// visit counter. Its sessions live in a Store (sessionstore.NewMemory,
// sessionstore.NewRedis or sessionstore.NewCookie), which decides whether a
// user survives the instance that served them dying.
//
// Routes (the public interface, as docs/reference.md lists it):
//
//	GET  /              the page; counts a visit
//	POST /login         form username: logs in under a new session ID, 303 to /
//	POST /logout        ends the session (deleted from the store, cookie expired), 303 to /
//	POST /cart          form item: adds it to the cart, 303 to /
//	GET  /api/session   {"instance","store","logged_in","user","visits","cart"}; counts a visit
//	POST /api/login     {"username": "..."}, answers the session as /api/session does
//	POST /api/logout    no body (or {}), answers the ended session
//	POST /api/cart      {"item": "..."}, answers the session
//	GET  /healthz       200 while the process serves (liveness)
//	GET  /readyz        200 when the store answers a ping, else 503 (readiness)
//	GET  /metrics       Prometheus metrics of the app's registry
//	PUT  /admin/store   {"store":"redis","migrate":true} with the admin token: the in-place switch (switch.go)
//
// Every view of the page and every GET /api/session counts one visit; posts,
// probes and scrapes do not. A session is stored only once it holds a login
// or a cart item: an anonymous visitor's visits are counted in a cookie of
// their own (visits.go), so anonymous traffic costs no server-side state. HEAD is answered wherever GET is. Usernames and
// items are 1 to 64 printable characters after trimming; a cart holds at most
// 100 items. Bad input gets a 4xx with a message that says what is wrong
// (JSON {"error": "..."} on /api/, a page elsewhere); a change that would not
// fit in the cookie store's 4096-byte cookie gets 409 and nothing is saved;
// a failing store gets 503
// "session store unavailable" and nothing is overwritten. Every response
// carries the header X-Stickylab-Instance with the instance name.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/gorilla/sessions"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stickylab/internal/palette"
)

// Store keeps the sessions of an App. *sessionstore.Store implements it,
// over memory or Redis, and *sessionstore.CookieStore, in the client's
// cookie. Implementations must be safe for
// concurrent use, must return errors wrapping sessionstore.ErrUnavailable
// when their backend fails (never an empty session in its place), and
// sessionstore.ErrConflict when Save lost a race with another writer.
type Store interface {
	// New loads the session named name that the request's cookie points
	// to, from the backend, or returns a fresh session when there is none.
	New(r *http.Request, name string) (*sessions.Session, error)
	// Save writes s if it changed and sets its cookie on w; a negative
	// s.Options.MaxAge deletes it.
	Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error
	// Renew makes the next Save store s under a fresh ID and delete the
	// old one.
	Renew(s *sessions.Session)
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Mode is "memory", "redis" or "cookie", shown to the user.
	Mode() string
}

// Config configures an App. The zero value works: every field has a default.
type Config struct {
	// Name is the instance name shown on the page, returned by the JSON
	// API and sent in the X-Stickylab-Instance header of every response.
	// Default: the host name (os.Hostname), or "app" when that fails.
	Name string

	// CookieName is the name of the session cookie. Instances that share
	// sessions must use the same name. Default: "stickylab_session".
	CookieName string

	// Logger receives one line per request (debug level for /healthz,
	// /readyz and /metrics, info for the rest) and, at error level, the
	// details of failures that clients only see as a generic message.
	// Default: a logger that discards everything.
	Logger *slog.Logger

	// Registry is where the app registers its HTTP metrics, and what
	// /metrics serves: register the store's metrics (sessionstore.NewMetrics)
	// on the same registry to see them there. Default: a new registry.
	Registry *prometheus.Registry

	// StoreTimeout bounds the session store work of one request, including
	// the wait behind other requests of the same session. It also bounds
	// the Ping of /readyz. Default: 5s.
	StoreTimeout time.Duration

	// NoSessionLock lets the requests of one session run at once within
	// this instance, as in the usual gorilla apps, instead of one after the
	// other. With a store that still does compare-and-set, nothing is lost
	// (the loser re-applies its change); with one that does not
	// (sessionstore.Config.LastWriterWins), two tabs overwrite each other's
	// changes. For the lab's lesson on lost updates only. Default false.
	NoSessionLock bool

	// AdminToken turns on PUT /admin/store, the in-place store switch
	// (switch.go), for requests that carry it as "Authorization: Bearer
	// TOKEN". Trust: the route is on the public listener, behind the
	// balancer; the token alone keeps clients out, so make it long and
	// random. Empty (the default): no such route (404).
	AdminToken string

	// SwitchStore opens the store that PUT /admin/store asks for, from the
	// store in use (a memory store: its sessions are what a migrating store
	// moves). It should check that the new store answers. Nil: the route
	// answers 409.
	SwitchStore func(ctx context.Context, req StoreSwitch, current Store) (Store, error)
}

// DefaultCookieName is the session cookie name when Config.CookieName is empty.
const DefaultCookieName = "stickylab_session"

const defaultStoreTimeout = 5 * time.Second

// App is the web application of one instance. It is an http.Handler, safe for
// concurrent use. Build it with New.
//
// Trust: every request is untrusted input. The only header the app believes
// without proof is X-Forwarded-Proto, and only to mark cookies Secure, which
// a lying client can only use against itself.
type App struct {
	name         string
	color        string
	cookieName   string
	store        atomic.Pointer[storeRef] // swapped by an in-place switch (switch.go)
	log          *slog.Logger
	registry     *prometheus.Registry
	storeTimeout time.Duration
	metrics      *httpMetrics
	views        *views
	locks        *sessionLocks // nil: Config.NoSessionLock
	adminToken   string
	switchTo     func(ctx context.Context, req StoreSwitch, current Store) (Store, error)
	switchMu     sync.Mutex // serialises in-place switches
	handler      http.Handler
}

// New returns the application serving its routes with sessions kept in
// store. It fails when the metrics cannot be registered on cfg.Registry (for
// example because another App already registered them there).
func New(cfg Config, store Store) (*App, error) {
	if store == nil {
		return nil, errors.New("app: nil store")
	}
	if cfg.StoreTimeout < 0 {
		return nil, fmt.Errorf("app: negative StoreTimeout %v", cfg.StoreTimeout)
	}
	name := cfg.Name
	if name == "" {
		name, _ = os.Hostname()
		name = cmp.Or(name, "app")
	}
	a := &App{
		name:         name,
		color:        palette.Color(name),
		cookieName:   cmp.Or(cfg.CookieName, DefaultCookieName),
		log:          cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		registry:     cfg.Registry,
		storeTimeout: cmp.Or(cfg.StoreTimeout, defaultStoreTimeout),
		adminToken:   cfg.AdminToken,
		switchTo:     cfg.SwitchStore,
	}
	a.store.Store(&storeRef{store})
	if !cfg.NoSessionLock {
		a.locks = newSessionLocks()
	}
	if a.registry == nil {
		a.registry = prometheus.NewRegistry()
	}
	var err error
	if a.metrics, err = newHTTPMetrics(a.registry, a.name, store.Mode()); err != nil {
		return nil, fmt.Errorf("app: register metrics: %w", err)
	}
	if a.views, err = newViews(a.name, a.color); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a.handler = a.routes()
	return a, nil
}

// Name is the instance name, after defaults.
func (a *App) Name() string { return a.name }

// ServeHTTP serves the routes listed in the package comment.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func (a *App) routes() http.Handler {
	r := chi.NewRouter()
	// GetHead answers HEAD with the GET handler, as RFC 9110 (9.3.2) asks
	// of general-purpose servers, so that curl -I shows the instance.
	r.Use(a.instanceHeader, a.observe, a.recoverer, middleware.GetHead)
	r.NotFound(a.notFound)
	r.MethodNotAllowed(a.methodNotAllowed(r))

	// Every state-changing route is a POST behind CrossOriginProtection:
	// a browser's cross-site POST (a form on another site) is refused,
	// while same-origin forms and scripts without Origin/Sec-Fetch-Site
	// (curl) pass. GET routes only count visits, which a cross-site
	// page can cause anyway by linking here.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(a.crossOriginDenied))
	r.Group(func(r chi.Router) {
		r.Use(csrf.Handler)
		r.Post("/login", a.formLogin)
		r.Post("/logout", a.formLogout)
		r.Post("/cart", a.formCart)
		r.Post("/api/login", a.apiLogin)
		r.Post("/api/logout", a.apiLogout)
		r.Post("/api/cart", a.apiCart)
	})
	if a.adminToken != "" {
		r.Put("/admin/store", a.switchStore)
	}
	r.Get("/", a.page)
	r.Get("/api/session", a.apiSession)
	r.Get("/api/cart", a.apiCartView)
	r.Get("/healthz", a.healthz)
	r.Get("/readyz", a.readyz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(a.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      a.registry,
	}))
	return r
}
