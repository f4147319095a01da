package listener

import (
	"fmt"
	"net/url"
	"strings"
	"time"
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
