package listener

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Algorithms, the values of TargetGroup.Algorithm: ALB's
// load_balancing.algorithm.type attribute (Terraform's
// load_balancing_algorithm_type).
const (
	RoundRobin               = "round_robin"
	LeastOutstandingRequests = "least_outstanding_requests"
	WeightedRandom           = "weighted_random"
)

// Stickiness types, the values of Stickiness.Type: ALB's
// stickiness.type attribute.
const (
	LBCookie  = "lb_cookie"  // duration-based: AWSALB and AWSALBCORS
	AppCookie = "app_cookie" // application-based: AWSALBAPP-0, following the application's cookie
)

// Defaults of a target group. Where stickylab's differ from ALB's, they are
// the lab's (lb's flags), so that a file and the flags behave alike and a
// lab reacts within seconds: ALB's are in the comments.
const (
	DefaultHealthPath          = "/healthz"       // ALB: /
	DefaultHealthInterval      = 5 * time.Second  // ALB: 30s
	DefaultHealthTimeout       = 2 * time.Second  // ALB: 5s
	DefaultHealthyThreshold    = 2                // ALB: 5
	DefaultUnhealthyThreshold  = 2                // ALB: 2
	DefaultMatcher             = "200-299"        // ALB: 200; lb counts any 2xx as healthy
	DefaultDeregistrationDelay = 30 * time.Second // ALB: 300s
	DefaultStickyDuration      = 24 * time.Hour   // ALB: 1 day
)

// Ranges of ALB's target group attributes.
const (
	MinStickyDuration   = time.Second
	MaxStickyDuration   = 7 * 24 * time.Hour
	MinSlowStart        = 30 * time.Second
	MaxSlowStart        = 900 * time.Second
	MaxDeregistration   = 3600 * time.Second
	MinHealthInterval   = 5 * time.Second
	MaxHealthInterval   = 300 * time.Second
	MinHealthTimeout    = 2 * time.Second
	MaxHealthTimeout    = 120 * time.Second
	maxTargetGroupName  = 32 // ALB: up to 32 alphanumerics and hyphens
	maxTargetName       = 64 // lb's cookies hold the name
	maxHealthPathLength = 1024
	reservedCookie      = "AWSALB" // starts AWSALB, AWSALBAPP and AWSALBTG, which ALB reserves
)

// Target is one registered target: the name operators see and the base URL
// requests go to (scheme http or https and a host, nothing else).
type Target struct {
	Name string
	URL  *url.URL
}

// TargetGroup is ALB's target group (Terraform's aws_lb_target_group): its
// targets and how it routes among them. One target may be in several groups.
type TargetGroup struct {
	// Name is unique in the file, 1 to 32 letters, digits and hyphens, not
	// starting or ending with a hyphen (ALB's rule). The flags' group is
	// named "default".
	Name string
	// Targets are the registered targets; an empty group answers 503, as
	// ALB does with no registered target.
	Targets []Target
	// Algorithm is RoundRobin (default), LeastOutstandingRequests or
	// WeightedRandom.
	Algorithm string
	// AnomalyMitigation is ALB's load_balancing.algorithm.anomaly_mitigation
	// ("on"/"off" there): only with WeightedRandom. Default false.
	AnomalyMitigation bool
	// SlowStart is ALB's slow_start.duration_seconds: 0 (default, off) or
	// 30s to 900s, not with LeastOutstandingRequests.
	SlowStart time.Duration
	// DeregistrationDelay is ALB's deregistration_delay.timeout_seconds,
	// 0 to 3600s, default 30s (ALB: 300s).
	DeregistrationDelay time.Duration
	// Stickiness is the group's target stickiness; off by default.
	Stickiness Stickiness
	// HealthCheck is how the group checks its targets.
	HealthCheck HealthCheck
	// UnhealthyStateRouting is when the group fails open.
	UnhealthyStateRouting UnhealthyStateRouting
}

// Stickiness is ALB's stickiness.* target group attributes (Terraform's
// stickiness block).
type Stickiness struct {
	// Enabled is stickiness.enabled. In a file, a stickiness block is
	// enabled unless it says enabled: false, as in Terraform.
	Enabled bool
	// Type is LBCookie or AppCookie.
	Type string
	// CookieName is the application's cookie that AppCookie follows
	// (stickiness.app_cookie.cookie_name); required with it, refused
	// otherwise. Names starting with AWSALB, AWSALBAPP or AWSALBTG are
	// reserved by ALB.
	CookieName string
	// Duration is stickiness.lb_cookie.duration_seconds or
	// stickiness.app_cookie.duration_seconds (Terraform's cookie_duration):
	// 1s to 7d, default 1 day.
	Duration time.Duration
}

// HealthCheck is ALB's health check settings (Terraform's health_check
// block), with the lab's defaults where they differ (see DefaultHealthPath).
type HealthCheck struct {
	Path               string        // starts with /, default /healthz
	Interval           time.Duration // 5s to 300s, default 5s
	Timeout            time.Duration // 2s to 120s and shorter than Interval, default 2s
	HealthyThreshold   int           // 2 to 10, default 2
	UnhealthyThreshold int           // 2 to 10, default 2
	Matcher            Matcher       // success codes within 200-499, default 200-299
}

// UnhealthyStateRouting is ALB's target_group_health.unhealthy_state_routing
// attributes: the group fails open (routes to all its targets, healthy or
// not) when fewer targets than either minimum are healthy.
type UnhealthyStateRouting struct {
	// MinimumHealthyTargetsCount is at least 1, default 1: fail open only
	// when no target is healthy, ALB's default.
	MinimumHealthyTargetsCount int
	// MinimumHealthyTargetsPercentage is 1 to 100, or 0 for "off"
	// (default).
	MinimumHealthyTargetsPercentage int
}

// NewTargetGroup returns a target group named name with targets and every
// other setting at its default: what the flags start from.
func NewTargetGroup(name string, targets []Target) TargetGroup {
	return TargetGroup{
		Name: name, Targets: targets, Algorithm: RoundRobin,
		DeregistrationDelay: DefaultDeregistrationDelay,
		Stickiness:          Stickiness{Duration: DefaultStickyDuration},
		HealthCheck: HealthCheck{
			Path: DefaultHealthPath, Interval: DefaultHealthInterval, Timeout: DefaultHealthTimeout,
			HealthyThreshold: DefaultHealthyThreshold, UnhealthyThreshold: DefaultUnhealthyThreshold,
			Matcher: Matcher{{Low: 200, High: 299}},
		},
		UnhealthyStateRouting: UnhealthyStateRouting{MinimumHealthyTargetsCount: 1},
	}
}

// ParseTarget parses one [name=]URL target. The name defaults to the URL's
// host:port, as lb's -targets flag does.
func ParseTarget(s string) (Target, error) {
	name, raw, named := strings.Cut(s, "=")
	if !named || strings.Contains(name, "://") {
		name, raw = "", s
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Target{}, fmt.Errorf("want [name=]http://host:port or https://host:port")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return Target{}, fmt.Errorf("the URL must be scheme://host[:port] only, without path, query or user")
	}
	if name == "" {
		name = u.Host
	}
	if len(name) > maxTargetName || strings.ContainsAny(name, " ,=") {
		return Target{}, fmt.Errorf("the name must be 1 to %d characters without spaces, commas or =", maxTargetName)
	}
	u.Path = ""
	return Target{Name: name, URL: u}, nil
}

func validGroupName(s string) bool {
	if s == "" || len(s) > maxTargetGroupName || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

var targetGroupKeys = []string{"name", "targets", "algorithm", "anomaly_mitigation", "slow_start",
	"deregistration_delay", "stickiness", "health_check", "unhealthy_state_routing"}

// targetGroup decodes one item of target_groups.
func (d *decoder) targetGroup(n *yaml.Node, field string) (*TargetGroup, error) {
	tg := NewTargetGroup("", nil)
	var slowStart, mitigation *yaml.Node
	err := d.fields(n, field, targetGroupKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		var err error
		switch key {
		case "name":
			if tg.Name, err = d.str(v, f); err == nil && !validGroupName(tg.Name) {
				err = d.fail(v, f, "%q is not allowed; want 1 to %d letters, digits and hyphens, not starting or ending with a hyphen", tg.Name, maxTargetGroupName)
			}
		case "targets":
			tg.Targets, err = d.targets(v, f)
		case "algorithm":
			if tg.Algorithm, err = d.str(v, f); err == nil {
				err = d.oneOf(v, f, tg.Algorithm, RoundRobin, LeastOutstandingRequests, WeightedRandom)
			}
		case "anomaly_mitigation":
			mitigation = v
			tg.AnomalyMitigation, err = d.boolean(v, f)
		case "slow_start":
			slowStart = v
			if tg.SlowStart, err = d.seconds(v, f, 0, MaxSlowStart); err == nil && tg.SlowStart > 0 && tg.SlowStart < MinSlowStart {
				err = d.fail(v, f, "%s is out of range; want 0 (off) or 30s to 900s", v.Value)
			}
		case "deregistration_delay":
			tg.DeregistrationDelay, err = d.seconds(v, f, 0, MaxDeregistration)
		case "stickiness":
			tg.Stickiness, err = d.stickiness(v, f)
		case "health_check":
			tg.HealthCheck, err = d.healthCheck(v, f)
		case "unhealthy_state_routing":
			tg.UnhealthyStateRouting, err = d.unhealthyStateRouting(v, f)
		}
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case tg.Name == "":
		return nil, d.missing(n, field, "name", fmt.Sprintf("1 to %d letters, digits and hyphens", maxTargetGroupName))
	case tg.Targets == nil:
		return nil, d.missing(n, field, "targets", "a list of [name=]URL, e.g. [app-1=http://127.0.0.1:9001]")
	case tg.AnomalyMitigation && tg.Algorithm != WeightedRandom:
		return nil, d.fail(mitigation, join(field, "anomaly_mitigation"), "is only allowed with algorithm: weighted_random (ALB's rule)")
	case tg.SlowStart > 0 && tg.Algorithm == LeastOutstandingRequests:
		return nil, d.fail(slowStart, join(field, "slow_start"), "%s is not allowed with algorithm: least_outstanding_requests (ALB's rule); want 0", slowStart.Value)
	}
	return &tg, nil
}

// targets decodes a list of [name=]URL with distinct names.
func (d *decoder) targets(v *yaml.Node, field string) ([]Target, error) {
	items, err := d.list(v, field, "[name=]URL targets")
	if err != nil {
		return nil, err
	}
	out := make([]Target, 0, len(items))
	seen := make(map[string]int, len(items))
	for i, item := range items {
		f := index(field, i)
		s, err := d.str(item, f)
		if err != nil {
			return nil, err
		}
		t, err := ParseTarget(s)
		if err != nil {
			return nil, d.fail(item, f, "%q: %v", s, err)
		}
		if j, dup := seen[t.Name]; dup {
			return nil, d.fail(item, f, "the name %q is already %s's; target names must be unique in a group", t.Name, index(field, j))
		}
		seen[t.Name] = i
		out = append(out, t)
	}
	return out, nil
}

// oneOf checks that s is one of allowed.
func (d *decoder) oneOf(v *yaml.Node, field, s string, allowed ...string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return d.fail(v, field, "%q is not allowed; want %s", s, orList(allowed))
}

// orList writes "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

var stickinessKeys = []string{"enabled", "type", "cookie_name", "duration"}

func (d *decoder) stickiness(n *yaml.Node, field string) (Stickiness, error) {
	s := Stickiness{Enabled: true, Duration: DefaultStickyDuration}
	var cookie *yaml.Node
	err := d.fields(n, field, stickinessKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		var err error
		switch key {
		case "enabled":
			s.Enabled, err = d.boolean(v, f)
		case "type":
			if s.Type, err = d.str(v, f); err == nil {
				err = d.oneOf(v, f, s.Type, LBCookie, AppCookie)
			}
		case "cookie_name":
			cookie = v
			if s.CookieName, err = d.str(v, f); err == nil {
				err = d.cookieName(v, f, s.CookieName)
			}
		case "duration":
			s.Duration, err = d.seconds(v, f, MinStickyDuration, MaxStickyDuration)
		}
		return err
	})
	switch {
	case err != nil:
		return Stickiness{}, err
	case s.Type == "" && s.Enabled:
		return Stickiness{}, d.missing(n, field, "type", "lb_cookie or app_cookie (or enabled: false)")
	case s.Type == AppCookie && s.CookieName == "":
		return Stickiness{}, d.missing(n, field, "cookie_name", "the application's cookie that app_cookie stickiness follows")
	case s.Type != AppCookie && cookie != nil:
		return Stickiness{}, d.fail(cookie, join(field, "cookie_name"), "is only allowed with type: app_cookie")
	}
	return s, nil
}

// cookieName checks an application cookie name: an RFC 6265 token that
// does not start with ALB's reserved prefix.
func (d *decoder) cookieName(v *yaml.Node, field, name string) error {
	if strings.HasPrefix(strings.ToUpper(name), reservedCookie) {
		return d.fail(v, field, "%q is reserved: names starting with AWSALB, AWSALBAPP or AWSALBTG belong to the load balancer", name)
	}
	if name == "" || len(name) > 128 || strings.ContainsFunc(name, func(c rune) bool {
		return !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", c)
	}) {
		return d.fail(v, field, "%q is not a cookie name; want 1 to 128 letters, digits and !#$%%&'*+-.^_`|~", name)
	}
	return nil
}

var healthCheckKeys = []string{"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "matcher"}

func (d *decoder) healthCheck(n *yaml.Node, field string) (HealthCheck, error) {
	hc := NewTargetGroup("", nil).HealthCheck
	var timeout *yaml.Node
	err := d.fields(n, field, healthCheckKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		var err error
		switch key {
		case "path":
			if hc.Path, err = d.str(v, f); err == nil && (!strings.HasPrefix(hc.Path, "/") || len(hc.Path) > maxHealthPathLength) {
				err = d.fail(v, f, "%q is not allowed; want a path starting with / (at most %d characters)", hc.Path, maxHealthPathLength)
			}
		case "interval":
			hc.Interval, err = d.seconds(v, f, MinHealthInterval, MaxHealthInterval)
		case "timeout":
			timeout = v
			hc.Timeout, err = d.seconds(v, f, MinHealthTimeout, MaxHealthTimeout)
		case "healthy_threshold":
			hc.HealthyThreshold, err = d.integer(v, f, 2, 10)
		case "unhealthy_threshold":
			hc.UnhealthyThreshold, err = d.integer(v, f, 2, 10)
		case "matcher":
			hc.Matcher, err = d.matcher(v, f)
		}
		return err
	})
	if err != nil {
		return HealthCheck{}, err
	}
	if hc.Timeout >= hc.Interval {
		at := timeout
		if at == nil {
			at = resolve(n)
		}
		return HealthCheck{}, d.fail(at, join(field, "timeout"), "%s must be shorter than the interval %s (ALB's rule)", seconds(hc.Timeout), seconds(hc.Interval))
	}
	return hc, nil
}

var unhealthyStateKeys = []string{"minimum_healthy_targets_count", "minimum_healthy_targets_percentage"}

func (d *decoder) unhealthyStateRouting(n *yaml.Node, field string) (UnhealthyStateRouting, error) {
	u := UnhealthyStateRouting{MinimumHealthyTargetsCount: 1}
	err := d.fields(n, field, unhealthyStateKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		var err error
		switch key {
		case "minimum_healthy_targets_count":
			if u.MinimumHealthyTargetsCount, err = d.integer(v, f, 1, 1<<20); err != nil {
				err = d.fail(v, f, "%s is not allowed; want a whole number of targets, at least 1", describe(v))
			}
		case "minimum_healthy_targets_percentage":
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value == "off" {
				u.MinimumHealthyTargetsPercentage = 0
				return nil
			}
			if u.MinimumHealthyTargetsPercentage, err = d.integer(v, f, 1, 100); err != nil {
				err = d.fail(v, f, "%s is not allowed; want a whole number from 1 to 100, or \"off\"", describe(v))
			}
		}
		return err
	})
	return u, err
}
