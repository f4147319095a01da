package lab

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"stickylab/lb"
)

// fleetTargets are the fleet's instances as balancer targets. Their URLs
// never change: restarts keep the port.
func fleetTargets(f *Fleet) []lb.Target {
	var out []lb.Target
	for _, in := range f.Instances() {
		u, _ := url.Parse(in.URL) // built by the fleet from a port number
		out = append(out, lb.Target{Name: in.Name, URL: u})
	}
	return out
}

// awaitTargets waits until the balancer has every named target healthy.
func awaitTargets(ctx context.Context, b *lb.Balancer, names ...string) error {
	return awaitTargetsOf(ctx, b.Targets, names...)
}

// awaitTargetsOf waits until targets (a Balancer's, or every group's of a
// Router) has every named target healthy wherever it is registered.
func awaitTargetsOf(ctx context.Context, targets func() []lb.TargetStatus, names ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		healthy := map[string]bool{} // by name: healthy in every group seen so far
		for _, t := range targets() {
			if slices.Contains(names, t.Name) {
				ok, seen := healthy[t.Name]
				healthy[t.Name] = (ok || !seen) && t.State == lb.StateHealthy
			}
		}
		all := len(healthy) == len(names)
		for _, ok := range healthy {
			all = all && ok
		}
		if all {
			return nil
		}
		pause(ctx, 10*time.Millisecond)
		if ctx.Err() != nil {
			return fmt.Errorf("balancer: targets %v not healthy: %w", names, context.Cause(ctx))
		}
	}
}
