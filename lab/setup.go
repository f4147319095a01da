package lab

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"text/template"

	"stickylab/lb"
	"stickylab/lb/listener"
)

// The demo's ready setups, the values of DemoConfig.Setup.
const (
	SetupDefault   = "default"    // the first round's lab: one group, the flags' stickiness
	SetupBlogPaths = "blog-paths" // /api/* and the pages on two groups of the same instances, app-cookie stickiness in each
	SetupBlueGreen = "blue-green" // blue and green behind a weighted forward with group stickiness
)

// Setups are the names -setup takes.
var Setups = []string{SetupDefault, SetupBlogPaths, SetupBlueGreen}

// setupTemplates are the configuration files of the setups, written as a
// user would write them; {{.Targets}} is the instances, {{.Blue}} and
// {{.Green}} the two halves, {{.AppCookie}} the session cookie. Their
// health checks are set afterwards from the demo's flags (setupConfig).
var setupTemplates = map[string]string{
	SetupBlogPaths: `
# The blog's setup: /api and its paths go to one target group, the pages to
# another; the same instances are registered in both, each group with
# application-cookie stickiness on the session cookie.
listener:
  default_action: {forward: {target_group: pages}}
  rules:
    - priority: 10
      conditions: {path_pattern: ["/api", "/api/*"]}
      action: {forward: {target_group: api}}
target_groups:
  - name: pages
    targets: [{{.Targets}}]
    stickiness: {type: app_cookie, cookie_name: {{.AppCookie}}, duration: 1d}
  - name: api
    targets: [{{.Targets}}]
    stickiness: {type: app_cookie, cookie_name: {{.AppCookie}}, duration: 1d}
`,
	SetupBlueGreen: `
# Blue/green: every new client goes to blue until the weights move
# (PUT /api/rules/default {"weights":{"blue":0,"green":100}}); group
# stickiness (AWSALBTG) keeps a client on its group for an hour, and
# duration stickiness (AWSALB) on its instance inside the group.
listener:
  default_action:
    forward:
      target_groups: [{name: blue, weight: 100}, {name: green, weight: 0}]
      stickiness: {enabled: true, duration: 1h}
target_groups:
  - name: blue
    targets: [{{.Blue}}]
    stickiness: {type: lb_cookie, duration: 1d}
  - name: green
    targets: [{{.Green}}]
    stickiness: {type: lb_cookie, duration: 1d}
`,
}

// setupConfig returns the configuration of a ready setup for the
// instances. Its groups check health as the demo's flags say (hc: every
// second by default, below the file's minimum of 5s, which is ALB's: the
// demo shows a kill at once), and drain after the flags' delay.
func setupConfig(setup string, instances []Instance, appCookie string, hc lb.Config) (*listener.Config, error) {
	text, ok := setupTemplates[setup]
	if !ok {
		return nil, fmt.Errorf("setup %q: want one of %s", setup, strings.Join(Setups, ", "))
	}
	targets := make([]string, len(instances))
	for i, in := range instances {
		targets[i] = in.Name + "=" + in.URL
	}
	half := (len(targets) + 1) / 2
	if setup == SetupBlueGreen && len(targets) < 2 {
		return nil, fmt.Errorf("setup %s: needs at least 2 instances (blue and green), got %d", setup, len(targets))
	}
	var b strings.Builder
	err := template.Must(template.New(setup).Parse(text)).Execute(&b, map[string]string{
		"Targets": strings.Join(targets, ", "), "Blue": strings.Join(targets[:half], ", "),
		"Green": strings.Join(targets[half:], ", "), "AppCookie": appCookie,
	})
	if err != nil {
		return nil, fmt.Errorf("setup %s: %w", setup, err)
	}
	file, err := listener.Parse(setup+".yaml", []byte(b.String()))
	if err != nil {
		return nil, err
	}
	for _, tg := range file.TargetGroups {
		h := &tg.HealthCheck
		h.Path, h.Interval, h.Timeout = hc.HealthPath, hc.HealthInterval, hc.HealthTimeout
		h.HealthyThreshold, h.UnhealthyThreshold = hc.HealthyThreshold, hc.UnhealthyThreshold
		tg.DeregistrationDelay = max(hc.DeregistrationDelay, 0)
	}
	return file, nil
}

// fileForFleet points the targets of a user's file at the demo's
// instances: a target is an instance by name, and its URL in the file is
// replaced by the instance's.
func fileForFleet(file *listener.Config, instances []Instance) error {
	urls := map[string]string{}
	names := make([]string, len(instances))
	for i, in := range instances {
		urls[in.Name], names[i] = in.URL, in.Name
	}
	for _, tg := range file.TargetGroups {
		for i, t := range tg.Targets {
			raw, ok := urls[t.Name]
			if !ok {
				return fmt.Errorf("target group %s: target %q is not an instance of the demo (%s)", tg.Name, t.Name, strings.Join(names, ", "))
			}
			u, err := url.Parse(raw)
			if err != nil {
				return fmt.Errorf("instance %s: %w", t.Name, err)
			}
			tg.Targets[i].URL = u
		}
	}
	return nil
}

// demoBalancer is what the demo runs: an lb.Balancer (the flags' one
// group) or an lb.Router (a setup or a file).
type demoBalancer interface {
	Serve(ctx context.Context, proxyLn, adminLn net.Listener) error
	Subscribe() (events <-chan lb.Event, cancel func())
}

// routerTargets are the targets of every group of rt.
func routerTargets(rt *lb.Router) []lb.TargetStatus {
	var out []lb.TargetStatus
	for _, g := range rt.TargetGroups() {
		out = append(out, g.Targets...)
	}
	return out
}

// describeRouting is the banner's lines for a setup or file: each rule and
// where it sends requests, then each group with its stickiness.
func describeRouting(file *listener.Config) []string {
	var lines []string
	for _, r := range file.Listener.Rules {
		lines = append(lines, fmt.Sprintf("rule %d: %s → %s", r.Priority, describeConditions(&r.Conditions), describeAction(&r.Action)))
	}
	lines = append(lines, "otherwise → "+describeAction(&file.Listener.DefaultAction))
	for _, tg := range file.TargetGroups {
		names := make([]string, len(tg.Targets))
		for i, t := range tg.Targets {
			names[i] = t.Name
		}
		sticky := "no stickiness"
		if s := tg.Stickiness; s.Enabled {
			sticky = s.Type + " stickiness"
			if s.Type == listener.AppCookie {
				sticky += " on " + s.CookieName
			}
		}
		lines = append(lines, fmt.Sprintf("group %s: %s; %s", tg.Name, strings.Join(names, ", "), sticky))
	}
	return lines
}

func describeConditions(c *listener.Conditions) string {
	if len(c.PathPattern) > 0 {
		return "path " + strings.Join(c.PathPattern, " or ")
	}
	return "its conditions"
}

func describeAction(a *listener.Action) string {
	fw := a.Forward
	if fw == nil {
		return a.Type()
	}
	if len(fw.TargetGroups) == 1 {
		return "group " + fw.TargetGroups[0].Name
	}
	parts := make([]string, len(fw.TargetGroups))
	for i, g := range fw.TargetGroups {
		parts[i] = fmt.Sprintf("%s %d", g.Name, g.Weight)
	}
	s := "weighted " + strings.Join(parts, " / ")
	if fw.Stickiness.Enabled {
		s += ", group stickiness (AWSALBTG)"
	}
	return s
}

// newDemoBalancer returns the demo's balancer: an lb.Balancer for the
// default setup, else an lb.Router for the setup or file, with what the
// demo waits on and the banner's routing lines.
func newDemoBalancer(cfg DemoConfig, bcfg lb.Config, fleet *Fleet) (demoBalancer, func() []lb.TargetStatus, []string, error) {
	file := cfg.File
	if file == nil && (cfg.Setup == "" || cfg.Setup == SetupDefault) {
		b, err := lb.New(bcfg)
		if err != nil {
			return nil, nil, nil, err
		}
		return b, b.Targets, nil, nil
	}
	var err error
	if file != nil {
		err = fileForFleet(file, fleet.Instances())
	} else {
		file, err = setupConfig(cfg.Setup, fleet.Instances(), bcfg.AppCookie, bcfg)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	rt, err := lb.NewRouter(file, bcfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return rt, func() []lb.TargetStatus { return routerTargets(rt) }, describeRouting(file), nil
}

// stickinessOf is the stickiness of the default setup's balancer, for the
// banner; a Router's groups each have their own (describeRouting).
func stickinessOf(b demoBalancer) lb.Stickiness {
	if bal, ok := b.(*lb.Balancer); ok {
		return bal.Stickiness()
	}
	return lb.Stickiness{}
}
