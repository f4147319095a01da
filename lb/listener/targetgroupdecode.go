package listener

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

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
		return HealthCheck{}, d.fail(at, join(field, "timeout"), "%s must be shorter than the interval %s (ALB's rule)", fmtSeconds(hc.Timeout), fmtSeconds(hc.Interval))
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
