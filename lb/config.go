package lb

import (
	"crypto/aes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"stickylab/internal/duration"
	"stickylab/lb/listener"
)

// Stickiness modes, the values of Config.Sticky and of PUT /api/stickiness.
const (
	StickyNone     = "none"     // no stickiness: the algorithm picks every request (ALB's default)
	StickyDuration = "duration" // ALB's duration-based lb_cookie: AWSALB and AWSALBCORS
	StickyApp      = "app"      // ALB's application-based app_cookie: AWSALBAPP-0
)

// Algorithms, the values of Config.Algorithm.
const (
	RoundRobin               = "round_robin"
	LeastOutstandingRequests = "least_outstanding_requests"
	WeightedRandom           = "weighted_random" // random, each target weighted alike (no anomaly mitigation yet)
)

// Engines, the values of Config.Engine: what serves the proxy listener.
const (
	// EngineStd is net/http: http.Server, httputil.ReverseProxy and
	// http.Transport. The reference behaviour, and the default.
	EngineStd = "std"
	// EngineFast is lb/internal/h1's HTTP/1.1 server, direct path and
	// target connection pool: less CPU per request, opt-in.
	EngineFast = "fast"
)

// Defaults applied by New to zero fields of Config. Health check defaults are
// stickylab's (a 5 s interval, shorter than ALB's 30 s, so that a lab reacts
// within seconds); stickiness defaults are ALB's.
const (
	DefaultStickyDuration      = 24 * time.Hour
	DefaultHealthPath          = "/healthz"
	DefaultHealthInterval      = 5 * time.Second
	DefaultHealthTimeout       = 2 * time.Second
	DefaultHealthyThreshold    = 2
	DefaultUnhealthyThreshold  = 2
	DefaultDeregistrationDelay = 30 * time.Second
	DefaultShutdownTimeout     = 15 * time.Second

	// MinStickyDuration and MaxStickyDuration are ALB's range: 1 s to 7 days.
	MinStickyDuration = time.Second
	MaxStickyDuration = 7 * 24 * time.Hour
)

// Target is one backend: a name shown in cookies-free form to operators
// (logs, /api/targets, events) and the base URL requests are proxied to.
type Target struct {
	Name string
	URL  *url.URL // scheme http or https and a host; no path, query or user info
}

// Config configures a Balancer. The zero value of every field except Targets
// works and means the default stated on the field.
type Config struct {
	// Targets are the registered targets, at least one, with distinct names.
	Targets []Target

	// Sticky is the stickiness mode: StickyNone (default, like ALB),
	// StickyDuration or StickyApp. It can be switched at run time with
	// SetSticky or PUT /api/stickiness.
	Sticky string
	// StickyDuration is how long a client stays on its target without a
	// request, enforced inside the encrypted cookie value (the browser-visible
	// Expires is always 7 days, as on ALB). 1s to 168h; default 24h.
	StickyDuration time.Duration
	// AppCookie is the application's own cookie that app stickiness follows;
	// required with StickyApp. Names starting with AWSALB (which covers
	// AWSALBAPP and AWSALBTG) are reserved, as on ALB, and refused.
	AppCookie string

	// Algorithm picks the target of a request that is not sticky:
	// RoundRobin (default), LeastOutstandingRequests or WeightedRandom.
	Algorithm string

	// HealthPath is the path of the active health check, default /healthz.
	// A target is healthy when it answers HealthMatcher's codes within
	// HealthTimeout.
	HealthPath string
	// HealthMatcher is the status codes that pass a health check (ALB's
	// matcher); nil means any 2xx.
	HealthMatcher listener.Matcher
	// HealthInterval is the time between checks of one target, 10ms to 5m,
	// default 5s (ALB: 5s to 300s, default 30s).
	HealthInterval time.Duration
	// HealthTimeout bounds one check, default 2s; it must be shorter than
	// HealthInterval.
	HealthTimeout time.Duration
	// HealthyThreshold is how many consecutive passed checks make an
	// unhealthy target healthy again, 1 to 10, default 2. A target in state
	// initial needs one passed check, as on ALB.
	HealthyThreshold int
	// UnhealthyThreshold is how many consecutive failed checks make a target
	// unhealthy, 1 to 10, default 2.
	UnhealthyThreshold int

	// AnomalyMitigation is ALB's anomaly mitigation of weighted_random
	// (anomaly.go): a target whose share of failed answers stands out gets
	// little traffic. Only with WeightedRandom; default false. Slow start
	// does not apply while it is on.
	AnomalyMitigation bool

	// SlowStart is ALB's slow start: a target that becomes healthy while
	// another healthy target is not in slow start gets a linearly rising
	// share of new requests for this long (slowstart.go). 0 (default) is
	// off; at most 15m; not with LeastOutstandingRequests.
	SlowStart time.Duration

	// MinHealthyTargets and MinHealthyPercent are ALB's
	// unhealthy_state_routing: the targets fail open (requests go to every
	// registered target, healthy or not) when fewer than MinHealthyTargets
	// (default 1: only when none is healthy, ALB's default) or fewer than
	// MinHealthyPercent percent of them (0, default: off) are healthy.
	MinHealthyTargets, MinHealthyPercent int

	// DeregistrationDelay is how long a draining target keeps serving its
	// in-flight requests before it becomes unused. Default 30s (ALB: 300s);
	// a negative value means no delay. At most 1h.
	DeregistrationDelay time.Duration

	// PassiveFailover retries a request on another target at once when its
	// target refused or reset the connection before the request reached it
	// (any method), or died without answering an idempotent request without
	// a body, and marks a refusing target unhealthy.
	//
	// The zero value false is ALB's behaviour: no retry, the client gets 502
	// until the health checks notice. Note that `stickylab lb` sets it to
	// true unless -passive-failover=false, so that the lab shows ALB's
	// 502s only when asked to.
	PassiveFailover bool

	// CookieKeys are the AES keys (16, 24 or 32 bytes) of the stickiness
	// cookies, newest first: the first encrypts, all decrypt, so a rotation
	// puts the new key first and keeps the previous one for a while. Nil
	// means one random key: cookies do not survive a restart.
	CookieKeys [][]byte

	// Logger receives state changes and errors; nil discards them.
	Logger *slog.Logger

	// StickinessHeader adds the StickinessHeader to every forwarded request,
	// saying what the balancer decided and until when, for the lab's app
	// page. Default false: ALB adds no such header.
	StickinessHeader bool

	// AdminRoutes, when set, is called once with the admin mux so that a
	// host can add routes such as "POST /api/instances/{name}/kill".
	AdminRoutes func(mux *http.ServeMux)

	// DashboardScript, when set, is JavaScript the dashboard page runs
	// after its own scripts: the host's controls for its own AdminRoutes,
	// added through the page's `dashboard` object (lb/web/dashboard.js
	// documents it). It is trusted, inline and allowed by its hash in the
	// page's Content-Security-Policy. Empty (default): the dashboard shows
	// the balancer alone.
	DashboardScript string

	// PublicURL is the proxy listener as browsers reach it, when that is not
	// the dashboard's host on the listener's own port: a port that a
	// container publishes as another one, a tunnel, a proxy in front. The
	// dashboard frames the shop at this URL and links to it. Its host may be
	// left out (http://:28080/) to mean the host the dashboard is opened on,
	// so that the frame shares the dashboard's cookies. Empty (default): the
	// dashboard's host on the proxy listener's port.
	PublicURL string

	// MaxEventSubscribers caps the event streams (GET /api/events) open at
	// once; past it, a new one gets 503. Publishing an event costs the same
	// whatever the number of streams, and a stream that does not read only
	// misses events: the cap bounds what the streams cost in connections and
	// memory. Default DefaultMaxEventSubscribers (100).
	MaxEventSubscribers int

	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// after its context is done, default 15s.
	ShutdownTimeout time.Duration

	// Engine is what Serve serves the proxy listener with: EngineStd
	// (default) or EngineFast. Both give the same ALB behaviour; the
	// admin listener is always served by net/http.
	Engine string

	// AdminHosts are the host names, besides localhost and loopback
	// addresses, that Serve's admin listener answers to (the Host header,
	// any port, compared without case): the names it is reached by from
	// other machines or containers. Any other Host gets 421, so that a web
	// page cannot drive the admin API through DNS rebinding. Default none.
	AdminHosts []string
}

// FieldError is a Config value that New refuses. Field is the Config field
// name, so that a command can name its own flag instead.
type FieldError struct {
	Field string
	Value string
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("lb: %s %q: %v", e.Field, e.Value, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, value, format string, args ...any) error {
	return &FieldError{Field: field, Value: value, Err: fmt.Errorf(format, args...)}
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Sticky == "" {
		cfg.Sticky = StickyNone
	}
	if cfg.StickyDuration == 0 {
		cfg.StickyDuration = DefaultStickyDuration
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = RoundRobin
	}
	if cfg.HealthPath == "" {
		cfg.HealthPath = DefaultHealthPath
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = DefaultHealthInterval
	}
	if cfg.HealthTimeout == 0 {
		cfg.HealthTimeout = min(DefaultHealthTimeout, cfg.HealthInterval/2)
	}
	if cfg.HealthyThreshold == 0 {
		cfg.HealthyThreshold = DefaultHealthyThreshold
	}
	if cfg.UnhealthyThreshold == 0 {
		cfg.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	switch {
	case cfg.DeregistrationDelay == 0:
		cfg.DeregistrationDelay = DefaultDeregistrationDelay
	case cfg.DeregistrationDelay < 0:
		cfg.DeregistrationDelay = 0
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Engine == "" {
		cfg.Engine = EngineStd
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// CheckSettings returns the *FieldError that New would return for cfg,
// Targets left aside: a program that starts the targets itself (the lab's
// demo) checks the rest first, so that a bad setting is reported before it
// takes a port or starts a process.
func (cfg Config) CheckSettings() error {
	return cfg.withDefaults().validateSettings()
}

// validate checks a Config that has its defaults applied; allowEmpty
// accepts no targets.
func (cfg Config) validate(allowEmpty bool) error {
	if len(cfg.Targets) == 0 && !allowEmpty {
		return fieldErr("Targets", "", "at least one target is required")
	}
	seen := make(map[string]bool, len(cfg.Targets))
	for _, t := range cfg.Targets {
		if err := validateTarget(t); err != nil {
			return err
		}
		if seen[t.Name] {
			return fieldErr("Targets", t.Name, "duplicate target name")
		}
		seen[t.Name] = true
	}
	return cfg.validateSettings()
}

// validateSettings checks every field of a Config with its defaults applied
// but Targets.
func (cfg Config) validateSettings() error {
	if err := validateStickiness(Stickiness{Mode: cfg.Sticky, Duration: cfg.StickyDuration, AppCookie: cfg.AppCookie}); err != nil {
		return err
	}
	if cfg.Algorithm != RoundRobin && cfg.Algorithm != LeastOutstandingRequests && cfg.Algorithm != WeightedRandom {
		return fieldErr("Algorithm", cfg.Algorithm, "must be %s, %s or %s", RoundRobin, LeastOutstandingRequests, WeightedRandom)
	}
	if !strings.HasPrefix(cfg.HealthPath, "/") {
		return fieldErr("HealthPath", cfg.HealthPath, "must start with /")
	}
	if cfg.HealthInterval < 10*time.Millisecond || cfg.HealthInterval > 5*time.Minute {
		return fieldErr("HealthInterval", duration.Short(cfg.HealthInterval), "must be from 10ms to 5m")
	}
	if cfg.HealthTimeout <= 0 || cfg.HealthTimeout >= cfg.HealthInterval {
		return fieldErr("HealthTimeout", duration.Short(cfg.HealthTimeout), "must be positive and shorter than the interval %s", duration.Short(cfg.HealthInterval))
	}
	if cfg.HealthyThreshold < 1 || cfg.HealthyThreshold > 10 {
		return fieldErr("HealthyThreshold", fmt.Sprint(cfg.HealthyThreshold), "must be from 1 to 10")
	}
	if cfg.UnhealthyThreshold < 1 || cfg.UnhealthyThreshold > 10 {
		return fieldErr("UnhealthyThreshold", fmt.Sprint(cfg.UnhealthyThreshold), "must be from 1 to 10")
	}
	if cfg.AnomalyMitigation && cfg.Algorithm != WeightedRandom {
		return fieldErr("AnomalyMitigation", "true", "only with %s", WeightedRandom)
	}
	if cfg.SlowStart < 0 || cfg.SlowStart > 15*time.Minute {
		return fieldErr("SlowStart", duration.Short(cfg.SlowStart), "must be from 0 (off) to 15m")
	}
	if cfg.SlowStart > 0 && cfg.Algorithm == LeastOutstandingRequests {
		return fieldErr("SlowStart", duration.Short(cfg.SlowStart), "cannot be combined with %s (ALB refuses it)", LeastOutstandingRequests)
	}
	if cfg.MinHealthyTargets < 0 || cfg.MinHealthyPercent < 0 || cfg.MinHealthyPercent > 100 {
		return fieldErr("MinHealthyPercent", fmt.Sprint(cfg.MinHealthyPercent), "MinHealthyTargets must be at least 0 and MinHealthyPercent from 0 to 100")
	}
	if cfg.DeregistrationDelay > time.Hour {
		return fieldErr("DeregistrationDelay", duration.Short(cfg.DeregistrationDelay), "must be at most 1h")
	}
	if _, err := parsePublicURL(cfg.PublicURL); err != nil {
		return fieldErr("PublicURL", cfg.PublicURL, "%v", err)
	}
	if cfg.Engine != EngineStd && cfg.Engine != EngineFast {
		return fieldErr("Engine", cfg.Engine, "must be %s or %s", EngineStd, EngineFast)
	}
	for _, h := range cfg.AdminHosts {
		if err := validateAdminHost(h); err != nil {
			return fieldErr("AdminHosts", h, "%v", err)
		}
	}
	for i, k := range cfg.CookieKeys {
		if _, err := aes.NewCipher(k); err != nil {
			return fieldErr("CookieKeys", fmt.Sprintf("key %d", i+1), "must be 16, 24 or 32 bytes, got %d", len(k))
		}
	}
	return nil
}

func validateTarget(t Target) error {
	if t.Name == "" || len(t.Name) > maxTargetName {
		return fieldErr("Targets", t.Name, "name must be 1 to %d characters", maxTargetName)
	}
	u := t.URL
	if u == nil {
		return fieldErr("Targets", t.Name, "missing URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fieldErr("Targets", u.String(), "URL scheme must be http or https")
	}
	if u.Host == "" {
		return fieldErr("Targets", u.String(), "URL has no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return fieldErr("Targets", u.String(), "URL must be scheme://host[:port] only (no path, query or user)")
	}
	return nil
}

// reservedCookiePrefix starts every cookie name ALB reserves for itself:
// AWSALB, AWSALBCORS, AWSALBAPP-*, AWSALBTG, AWSALBTGCORS.
const reservedCookiePrefix = "AWSALB"

var errNoAppCookie = errors.New("is required with app stickiness")

// validateStickiness checks a stickiness setting, for New and for run-time
// switches alike.
func validateStickiness(s Stickiness) error {
	switch s.Mode {
	case StickyNone, StickyDuration, StickyApp:
	default:
		return fieldErr("Sticky", s.Mode, "must be %s, %s or %s", StickyNone, StickyDuration, StickyApp)
	}
	if s.Duration < MinStickyDuration || s.Duration > MaxStickyDuration {
		return fieldErr("StickyDuration", duration.Short(s.Duration), "must be from 1s to 168h")
	}
	if s.Mode == StickyApp && s.AppCookie == "" {
		return &FieldError{Field: "AppCookie", Value: "", Err: errNoAppCookie}
	}
	if s.AppCookie != "" {
		if strings.HasPrefix(strings.ToUpper(s.AppCookie), reservedCookiePrefix) {
			return fieldErr("AppCookie", s.AppCookie, "names starting with AWSALB, AWSALBAPP or AWSALBTG are reserved for the balancer")
		}
		if !validCookieName(s.AppCookie) {
			return fieldErr("AppCookie", s.AppCookie, "is not a valid cookie name (letters, digits and !#$%%&'*+-.^_`|~)")
		}
	}
	return nil
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
