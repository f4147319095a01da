// Package lb is a load balancer that behaves like the AWS Application Load
// Balancer of the sticky sessions lesson: round robin or least outstanding
// requests, duration-based (AWSALB) and application-based (AWSALBAPP-0)
// stickiness with opaque authenticated cookies, active health checks with
// fail-open, deregistration with a delay, ALB's forwarded headers, and, beyond
// ALB, passive failover. An admin handler exposes the targets, the
// stickiness setting, a server-sent event stream and Prometheus metrics.
//
// Two engines serve the proxy listener (Config.Engine): std, the default
// and the reference, is net/http's http.Server, httputil.ReverseProxy and
// http.Transport; fast is package lb/internal/h1, an HTTP/1.1 server,
// reverse proxy (with a direct path for plain requests) and client that
// know nothing of ALB. Both run the same ALB logic; engine.go, the seam, is
// the one file that knows which engine serves.
//
// The request path, in the order a request walks it: the engine's server,
// sticky.go (which target the cookie names), selector.go (the algorithm,
// for everything else), proxy.go (httputil.ReverseProxy with Rewrite,
// forwarded.go's headers, setcookie.go and cookie.go on the response; the
// fast engine's direct path runs the same hooks without ReverseProxy for
// the common bodiless request), failover.go (passive failover) and the
// engine's connections to the target (engine.go).
// Nothing on it takes a lock except the target's connection pool; the
// target set is an immutable snapshot behind an atomic pointer (pool.go),
// replaced when a state changes (health.go, drain). Admin: admin.go,
// sse.go, metrics.go, dashboard.go.
//
// Trust: the balancer trusts nothing a client sends. X-Forwarded-For is
// appended to, never believed; cookies that do not authenticate are ignored.
// The admin API has no authentication: serve it on loopback or a private
// network only. Serve answers it only for a Host that is localhost, a
// loopback address or one of Config.AdminHosts (DNS rebinding).
package lb

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"
)

// Balancer is the load balancer. Its methods are safe for concurrent use.
type Balancer struct {
	cfg       Config
	log       *slog.Logger
	pool      *pool
	sel       selector
	codec     *cookieCodec
	cookies   cookieWriter
	sticky    atomic.Pointer[Stickiness]
	transport *http.Transport        // to the targets: the std engine's, and the fast one's for https and upgrades
	proxy     *httputil.ReverseProxy // the balancer's hooks (proxy.go); engine.go serves them
	events    *hub                   // shared by the target groups of a Router
	metrics   *metrics
	group     string // the target group's name under a Router (events, metrics); "" for New's one pool
	decisions decisionMetrics
	ports     atomic.Pointer[portString] // X-Forwarded-Port of the last listener port seen
	proxyPort atomic.Pointer[string]     // the proxy listener's port once Serve runs: the dashboard frames it

	serving  atomic.Bool
	stop     chan struct{} // closed by Serve when it ends: stops drain waits
	stopOnce sync.Once
}

// New checks cfg, applies its defaults and returns a Balancer. Health checks
// run only inside Serve; until the first check every target is initial, and
// fail-open routes to all of them. Errors are *FieldError naming the field.
func New(cfg Config) (*Balancer, error) {
	return newBalancer(cfg, nil)
}

// newBalancer is New; a Router passes shared, what its target groups have
// in common (events, metrics registry, cookie codec), and nil stands for a
// balancer of its own.
func newBalancer(cfg Config, shared *groupShared) (*Balancer, error) {
	cfg = cfg.withDefaults()
	// A target group may be empty (ALB answers 503); a Balancer of its
	// own needs a target.
	if err := cfg.validate(shared != nil); err != nil {
		return nil, err
	}
	if shared == nil {
		codec, err := newCookieCodec(cfg.CookieKeys)
		if err != nil {
			return nil, &FieldError{Field: "CookieKeys", Err: err}
		}
		shared = &groupShared{codec: codec, events: &hub{max: cfg.MaxEventSubscribers}}
	}
	codec := shared.codec
	b := &Balancer{
		cfg:    cfg,
		log:    cfg.Logger,
		sel:    newSelector(cfg.Algorithm),
		codec:  codec,
		stop:   make(chan struct{}),
		events: shared.events,
		group:  shared.group,
	}
	b.cookies.codec = codec
	b.sticky.Store(&Stickiness{Mode: cfg.Sticky, Duration: cfg.StickyDuration, AppCookie: cfg.AppCookie})
	targets := make([]*target, len(cfg.Targets))
	for i, t := range cfg.Targets {
		targets[i] = &target{index: i, name: t.Name, url: t.URL, scheme: t.URL.Scheme, host: t.URL.Host, idle: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
	}
	b.pool = newPool(targets, b.stateChanged, cfg.MinHealthyTargets, cfg.MinHealthyPercent)
	b.pool.slowStart = cfg.SlowStart
	b.metrics = newMetrics(b, shared.reg, shared.group)
	b.decisions = b.metrics.forDecisions()
	for _, t := range targets {
		t.m = b.metrics.forTarget(t.name)
	}
	b.transport = newTransport()
	b.proxy = b.newReverseProxy()
	for _, t := range targets {
		b.attachEngine(t)
	}
	return b, nil
}

// exchange is the balancer's state for one request, shared by ServeHTTP and
// the proxy hooks, which all run on the request's goroutine. They find it
// in the request's context under exchangeKey{}.
type exchange struct {
	// The request's context. The proxied request carries the exchange
	// itself as its context, extended with itself (Value(exchangeKey{})):
	// one allocation less than context.WithValue.
	context.Context

	w http.ResponseWriter // the client's: the engine's sender may keep per-connection state there (engine.go)

	start   time.Time
	stick   *Stickiness
	sticky  stickyResult
	target  *target // where the request goes; passive failover may change it
	client  uint64  // client label carried in the cookie, 0 when stickiness is off
	status  int
	fromTgt bool      // status came from the target (else from the balancer)
	sent    time.Time // when the request was sent to target
	headers time.Time // when the target's response headers arrived
	retries int
	setCkie bool   // a stickiness cookie went out with the response
	route   *route // the listener rule and group stickiness that sent the request here; nil without a Router

	// Room that would otherwise be allocated apart on every request: the
	// forwarded headers' values and the stickiness cookies' Set-Cookie
	// values.
	fwd      [4]string
	setCkies [2]string
}

// exchangeKey is the context key of a request's exchange.
type exchangeKey struct{}

func (ex *exchange) Value(key any) any {
	if key == (exchangeKey{}) {
		return ex
	}
	return ex.Context.Value(key)
}

func exchangeOf(r *http.Request) *exchange { return exchangeIn(r.Context()) }

// exchangeIn returns the exchange ctx carries, nil when it carries none
// (a request that did not come through serve).
func exchangeIn(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// ServeHTTP proxies r to a target: the one its stickiness cookie names when
// that target is usable, else the one the algorithm picks. Serve's engine
// runs it, and any other server, or a test, may use the balancer as a
// handler.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.serve(r.Context(), w, r)
}

// serve is ServeHTTP with the request's context given apart (r's own is
// not looked at), for an engine whose server saves the request the copy
// that setting it costs.
func (b *Balancer) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	b.serveRoute(ctx, w, r, nil)
}

// serveRoute is serve for a request that a Router's rule rt sent here.
func (b *Balancer) serveRoute(ctx context.Context, w http.ResponseWriter, r *http.Request, rt *route) {
	ex := &exchange{Context: ctx, w: w, start: time.Now(), stick: b.sticky.Load(), route: rt}
	if status := refusal(r); status != 0 {
		b.answer(w, ex, status)
		b.finish(ex, r)
		return
	}
	snap := b.pool.load()
	ex.sticky = decide(ex.stick, r.Header, snap, b.codec, ex.start)
	t := ex.sticky.target
	if t == nil {
		if len(snap.candidates) == 0 {
			// ALB answers 503 when no target is registered.
			b.answer(w, ex, http.StatusServiceUnavailable)
			b.finish(ex, r)
			return
		}
		t = b.pick(snap.candidates)
	}
	ex.client = ex.sticky.client
	if ex.client == 0 && ex.stick.Mode != StickyNone {
		ex.client = rand.Uint64() | 1
	}
	ex.target = t
	t.inFlight.Add(1)
	// Deferred: under http.Server, ReverseProxy aborts a response whose
	// body copy failed by panicking with http.ErrAbortHandler.
	if rt != nil {
		// Under a Router, the end of a drain's delay cuts the request
		// (deregcut.go).
		var release func()
		ex.Context, release = t.cut.cuttable(ex.Context)
		defer release()
	}
	defer func() {
		ex.target.done()
		b.finish(ex, r)
	}()
	t.proxy.Serve(ex, w, r)
}

// finish counts the request and publishes its event.
func (b *Balancer) finish(ex *exchange, r *http.Request) {
	switch ex.sticky.decision {
	case DecisionNew:
		b.decisions.new.Inc()
		b.metrics.nonSticky.Inc()
	case DecisionStuck:
		b.decisions.stuck.Inc()
	case DecisionRestuck:
		b.decisions.restuck.Inc()
		b.metrics.nonSticky.Inc()
	}
	if t := ex.target; t != nil {
		if b.cfg.AnomalyMitigation {
			t.anomaly.record(ex.start, failedAnswer(ex))
		}
		t.requests.Add(1)
		t.m.requests.Inc()
		if ex.fromTgt {
			t.m.response(ex.status)
			t.m.responseTime.Observe(ex.headers.Sub(ex.sent).Seconds())
		}
	}
	if !b.events.wanted() {
		return
	}
	e := Event{
		Time: ex.start, Kind: EventRequest, Client: clientLabel(ex, r), Sticky: ex.sticky.decision,
		Status: ex.status, Method: r.Method, Path: r.URL.Path, Duration: time.Since(ex.start), Retries: ex.retries,
		TargetGroup: b.group,
	}
	if ex.route != nil {
		e.Rule = ex.route.rule
		if wasCut(ex.Context) {
			e.Reason = errDeregistrationOver.Error() + " with 502, as ALB does"
		}
	}
	if ex.target != nil {
		e.Target = ex.target.name
	}
	b.events.publish(e)
}

// answer writes a response of the balancer's own, as ALB does for 502, 503
// and 504: a status line, no internals.
func (b *Balancer) answer(w http.ResponseWriter, ex *exchange, status int) {
	ex.status = status
	b.metrics.elbResponses.WithLabelValues(statusText(status)).Inc()
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s\n", status, reasonPhrase(status))
}

func statusText(status int) string {
	switch status {
	case http.StatusBadGateway:
		return "502"
	case http.StatusServiceUnavailable:
		return "503"
	case http.StatusGatewayTimeout:
		return "504"
	}
	return fmt.Sprint(status)
}

// stateChanged logs and publishes a target's state change; the pool calls it
// with its lock held.
func (b *Balancer) stateChanged(t *target, from, to state, reason string) {
	level := slog.LevelInfo
	if to == stateUnhealthy {
		level = slog.LevelWarn
	}
	b.log.Log(context.Background(), level, "lb: target "+to.String(), "target", t.name, "url", t.url.String(), "from", from.String(), "reason", reason)
	b.events.publish(Event{Time: time.Now(), Kind: EventTarget, Target: t.name, TargetGroup: b.group, State: to.String(), PrevState: from.String(), Reason: reason})
}

// Subscribe returns a stream of events and a function that ends it. Events
// are never waited for: a subscriber more than 256 events behind misses
// events (counted in stickylab_lb_event_drops_total). cancel closes the
// channel; it may be called more than once.
func (b *Balancer) Subscribe() (events <-chan Event, cancel func()) {
	return b.events.subscribe()
}

// Targets returns every target with its state and counters, in Config order.
func (b *Balancer) Targets() []TargetStatus {
	out := make([]TargetStatus, len(b.pool.all))
	for i, t := range b.pool.all {
		out[i] = t.status()
	}
	return out
}

// Drain deregisters the target name: it gets no new requests at once,
// sticky clients included (they re-stick elsewhere, as on ALB), and becomes
// unused when its in-flight requests have finished or the deregistration
// delay is over. Draining a draining or unused target changes nothing. It
// returns the target's status after the call, and false when no target has
// that name.
func (b *Balancer) Drain(name string) (TargetStatus, bool) {
	t := b.pool.load().byName[name]
	if t == nil {
		return TargetStatus{}, false
	}
	b.pool.drain(t, b.cfg.DeregistrationDelay, b.stop, b.group != "")
	return t.status(), true
}

// Register registers a draining or unused target again (ALB's
// register-targets): it starts initial and receives traffic after its first
// passed health check. Registering a registered target changes nothing. It
// returns the target's status after the call, and false when no target has
// that name.
func (b *Balancer) Register(name string) (TargetStatus, bool) {
	t := b.pool.load().byName[name]
	if t == nil {
		return TargetStatus{}, false
	}
	if b.pool.register(t) {
		b.checkSoon(t)
	}
	return t.status(), true
}

// Stickiness returns the current stickiness setting.
func (b *Balancer) Stickiness() Stickiness { return *b.sticky.Load() }

// SetSticky switches the stickiness mode at run time, keeping the duration
// and application cookie. Cookies issued under another mode are ignored
// from then on, as a new ALB target group setting would.
func (b *Balancer) SetSticky(mode string) error {
	s := b.Stickiness()
	s.Mode = mode
	return b.SetStickiness(s)
}

// SetStickiness replaces the stickiness setting at run time after checking
// it as New does. Requests already being proxied keep the setting they
// started with.
func (b *Balancer) SetStickiness(s Stickiness) error {
	if err := validateStickiness(s); err != nil {
		return err
	}
	old := b.sticky.Swap(&s)
	if *old != s {
		b.log.Info("lb: stickiness changed", "mode", s.Mode, "duration", s.Duration, "app_cookie", s.AppCookie)
		b.events.publish(Event{Time: time.Now(), Kind: EventStickiness, TargetGroup: b.group, State: s.Mode, PrevState: old.Mode,
			Reason: fmt.Sprintf("mode %s, duration %s, app cookie %q", s.Mode, formatDuration(s.Duration), s.AppCookie)})
	}
	return nil
}
