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
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		healthy := 0
		for _, t := range b.Targets() {
			if slices.Contains(names, t.Name) && t.State == lb.StateHealthy {
				healthy++
			}
		}
		if healthy == len(names) {
			return nil
		}
		pause(ctx, 10*time.Millisecond)
		if ctx.Err() != nil {
			return fmt.Errorf("balancer: targets %v not healthy: %w", names, context.Cause(ctx))
		}
	}
}
