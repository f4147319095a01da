package lb

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stickylab/lb/listener"
)

// Router is ALB's listener for a configuration file (lb -config): its
// rules, tried by priority, in front of one Balancer per target group.
// Each group is a balancer of its own, with its own targets, algorithm,
// stickiness, health checks and deregistration delay, so that a target
// registered in two groups has its health tracked in each, as on ALB. The
// groups share the events, the metrics registry (their series labelled
// target_group) and the cookie keys. Its methods are safe for concurrent
// use.
type Router struct {
	cfg     Config
	groups  map[string]*Balancer
	order   []*Balancer // in file order
	primary *Balancer   // the group the first-round admin routes address
	shared  *groupShared
	cookies cookieWriter

	// rules is the listener, replaced as a whole when PUT /api/rules
	// changes a forward's weights; requests read it without a lock.
	rules atomic.Pointer[listener.Listener]
	// tls is the HTTPS listener's configuration; nil for HTTP.
	tls *tls.Config
	// redirectLn is the listener of the file's http_redirect, when given
	// before Serve (SetHTTPRedirectListener).
	redirectLn net.Listener

	// picks counts the weighted choices of each forward, by rule key
	// (rule.go's ruleKey), fixed at NewRouter.
	picks map[string]*atomic.Uint64
}

// groupShared is what the target groups of a Router have in common.
type groupShared struct {
	group  string // the group's own name, set per group
	codec  *cookieCodec
	events *hub
	reg    *prometheus.Registry
}

// DefaultRule is the rule key of the listener's default action, in events
// and in PUT /api/rules/default.
const DefaultRule = "default"

// NewRouter returns a Router serving file. base holds the settings that are
// not in the file and apply to every group (cookie keys, passive failover,
// logger, admin hooks, engine); its Targets and per-group fields (Sticky,
// Algorithm, Health*, DeregistrationDelay) must be left zero: the file
// gives them. Both engines serve an HTTP listener; only std an HTTPS one.
func NewRouter(file *listener.Config, base Config) (*Router, error) {
	if base.Engine == EngineFast && file.Listener.Protocol == listener.HTTPS {
		return nil, fieldErr("Engine", base.Engine, "an HTTPS listener (TLS, HTTP/2) is served by the std engine only: leave -engine out or give std")
	}
	if err := checkServed(file); err != nil {
		return nil, err
	}
	if err := checkSharedTargets(file); err != nil {
		return nil, err
	}
	if err := checkGroupStickiness(file); err != nil {
		return nil, err
	}
	base = base.withDefaults()
	codec, err := newCookieCodec(base.CookieKeys)
	if err != nil {
		return nil, &FieldError{Field: "CookieKeys", Err: err}
	}
	rt := &Router{
		cfg:    base,
		groups: make(map[string]*Balancer, len(file.TargetGroups)),
		shared: &groupShared{codec: codec, events: &hub{max: base.MaxEventSubscribers}, reg: prometheus.NewRegistry()},
		picks:  map[string]*atomic.Uint64{},
	}
	rt.cookies.codec = codec
	if file.Listener.Protocol == listener.HTTPS {
		if rt.tls, err = listenerTLS(file.Listener.Certificate); err != nil {
			return nil, fieldErr("Config", "listener.certificate", "%v", err)
		}
	}
	registerProcessMetrics(rt.shared.reg, rt.shared.events)
	primary := primaryGroup(file)
	for _, tg := range file.TargetGroups {
		cfg := groupConfig(base, tg)
		if tg.Name != primary {
			// The first-round admin routes and the dashboard are the
			// primary group's.
			cfg.AdminRoutes, cfg.DashboardScript = nil, ""
		} else {
			// Its dashboard shows the rules and groups too (an extension,
			// before the host's own).
			groupsJS, err := webFS.ReadFile("web/groups.js")
			if err != nil {
				return nil, fmt.Errorf("dashboard: %w", err)
			}
			cfg.DashboardScript = string(groupsJS) + "\n" + cfg.DashboardScript
		}
		sh := *rt.shared
		sh.group = tg.Name
		b, err := newBalancer(cfg, &sh)
		if err != nil {
			return nil, fmt.Errorf("target group %s: %w", tg.Name, err)
		}
		rt.groups[tg.Name] = b
		rt.order = append(rt.order, b)
	}
	rt.primary = rt.groups[primary]
	l := file.Listener
	rt.rules.Store(&l)
	rt.picks[DefaultRule] = new(atomic.Uint64)
	for _, r := range l.Rules {
		rt.picks[ruleKey(r.Priority)] = new(atomic.Uint64)
	}
	return rt, nil
}

// primaryGroup is the group that the first-round admin routes (PUT
// /api/stickiness …, a drain by name first) and the dashboard address: the
// group named default, else the only group, else the first group of the
// default action (where a request no rule matches goes), else the first.
func primaryGroup(file *listener.Config) string {
	if file.TargetGroup(listener.DefaultGroup) != nil {
		return listener.DefaultGroup
	}
	if fw := file.Listener.DefaultAction.Forward; len(file.TargetGroups) > 1 && fw != nil {
		return fw.TargetGroups[0].Name
	}
	if len(file.TargetGroups) == 0 {
		return ""
	}
	return file.TargetGroups[0].Name
}

// checkServed refuses a file the Router cannot serve: one without a
// target group.
func checkServed(file *listener.Config) error {
	if len(file.TargetGroups) == 0 {
		return fieldErr("Config", "target_groups", "at least one target group is required")
	}
	return nil
}

// checkSharedTargets refuses one target name with two URLs in two groups:
// a target registered in several groups is one target, and the stickiness
// cookies name it.
func checkSharedTargets(file *listener.Config) error {
	type seen struct{ url, group string }
	byName := map[string]seen{}
	for _, tg := range file.TargetGroups {
		for _, t := range tg.Targets {
			u := t.URL.String()
			if s, ok := byName[t.Name]; ok && s.url != u {
				return fieldErr("Config", "target "+t.Name, "is %s in group %s and %s in group %s; a target in several groups must have one URL", s.url, s.group, u, tg.Name)
			}
			byName[t.Name] = seen{u, tg.Name}
		}
	}
	return nil
}

// checkGroupStickiness refuses app-cookie stickiness on a group that a
// weighted forward (two or more groups) sends to: ALB does not support it.
// The file's parser refuses it too; a Router built from a Config made in
// code gets the same rule.
func checkGroupStickiness(file *listener.Config) error {
	actions := []*listener.Action{&file.Listener.DefaultAction}
	for i := range file.Listener.Rules {
		actions = append(actions, &file.Listener.Rules[i].Action)
	}
	for _, a := range actions {
		if a.Forward == nil || len(a.Forward.TargetGroups) < 2 {
			continue
		}
		for _, wg := range a.Forward.TargetGroups {
			if tg := file.TargetGroup(wg.Name); tg == nil {
				return fieldErr("Config", "target group "+wg.Name, "a forward names it and no target group has that name")
			} else if tg.Stickiness.Enabled && tg.Stickiness.Type == listener.AppCookie {
				return fieldErr("Config", "target group "+wg.Name, "has app_cookie stickiness and is in a weighted forward: ALB does not support application-based stickiness with weighted target groups; use lb_cookie")
			}
		}
	}
	return nil
}

// groupConfig is base with the settings of target group tg.
func groupConfig(base Config, tg *listener.TargetGroup) Config {
	cfg := base
	cfg.Targets = make([]Target, len(tg.Targets))
	for i, t := range tg.Targets {
		cfg.Targets[i] = Target{Name: t.Name, URL: t.URL}
	}
	cfg.Sticky, cfg.AppCookie = StickyNone, ""
	if tg.Stickiness.Enabled {
		switch tg.Stickiness.Type {
		case listener.LBCookie:
			cfg.Sticky = StickyDuration
		case listener.AppCookie:
			cfg.Sticky, cfg.AppCookie = StickyApp, tg.Stickiness.CookieName
		}
	}
	cfg.StickyDuration = tg.Stickiness.Duration
	cfg.Algorithm = tg.Algorithm
	hc := tg.HealthCheck
	cfg.HealthPath, cfg.HealthInterval, cfg.HealthTimeout = hc.Path, hc.Interval, hc.Timeout
	cfg.HealthyThreshold, cfg.UnhealthyThreshold, cfg.HealthMatcher = hc.HealthyThreshold, hc.UnhealthyThreshold, hc.Matcher
	cfg.SlowStart = tg.SlowStart
	cfg.AnomalyMitigation = tg.AnomalyMitigation
	cfg.MinHealthyTargets = tg.UnhealthyStateRouting.MinimumHealthyTargetsCount
	cfg.MinHealthyPercent = tg.UnhealthyStateRouting.MinimumHealthyTargetsPercentage
	cfg.DeregistrationDelay = tg.DeregistrationDelay
	if cfg.DeregistrationDelay == 0 {
		cfg.DeregistrationDelay = -1 // Config: zero means the default, negative none
	}
	return cfg
}

// ruleKey is the key of the rule of priority p in events, picks and the
// admin API: its priority, or DefaultRule for the default action (0).
func ruleKey(p int) string {
	if p == 0 {
		return DefaultRule
	}
	return strconv.Itoa(p)
}

// ServeHTTP does what the first rule that r matches says, by priority, or
// the default action: forward to a target group's balancer, redirect, or
// answer a fixed response.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.serve(r.Context(), w, r)
}

// serve is ServeHTTP with the request's context given apart (r's own is
// not looked at), as Balancer.serve.
func (rt *Router) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if status := refusal(r); status != 0 {
		writeStatus(w, status)
		rt.published(r, start, status, "")
		return
	}
	l := rt.rules.Load()
	remote, _ := netip.ParseAddrPort(r.RemoteAddr)
	action, priority := l.Match(r, remote.Addr().Unmap())
	key := ruleKey(priority)
	switch {
	case action.Forward != nil:
		name, info := rt.pickGroup(action.Forward, key, r, start)
		rt.groups[name].serveRoute(ctx, w, r, info)
	case action.Redirect != nil:
		loc, status := action.Redirect.Location(r, localPort(ctx))
		http.Redirect(w, r, loc, status)
		rt.published(r, start, status, key)
	case action.FixedResponse != nil:
		action.FixedResponse.ServeHTTP(w, r)
		rt.published(r, start, action.FixedResponse.StatusCode, key)
	}
}

// localPort is the port the request of ctx came in on, what a redirect's
// #{port} stands for.
func localPort(ctx context.Context) int {
	if a, ok := ctx.Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			return int(ap.Port())
		}
	}
	return 0
}

// published publishes the event of a request the Router answered itself
// (a redirect, a fixed response, a refused request).
func (rt *Router) published(r *http.Request, start time.Time, status int, rule string) {
	if !rt.shared.events.wanted() {
		return
	}
	rt.shared.events.publish(Event{
		Time: start, Kind: EventRequest, Client: clientLabel(&exchange{}, r), Status: status,
		Method: r.Method, Path: r.URL.Path, Duration: time.Since(start), Rule: rule,
	})
}

// writeStatus answers status as the balancer's own responses do: a status
// line, no internals.
func writeStatus(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s\n", status, reasonPhrase(status))
}

// Subscribe is Balancer.Subscribe for every group's events and the
// Router's own.
func (rt *Router) Subscribe() (events <-chan Event, cancel func()) {
	return rt.shared.events.subscribe()
}

// Group returns the balancer of the target group name, or nil.
func (rt *Router) Group(name string) *Balancer { return rt.groups[name] }

// Primary returns the group that the first-round admin routes and the
// dashboard address: default, the only group, or the default action's.
func (rt *Router) Primary() *Balancer { return rt.primary }
