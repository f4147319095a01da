package lab

import (
	"context"
	"fmt"
	"slices"
	"time"

	"stickylab/lb"
)

// The rolling-deploy scenario's measures.
const (
	mLogouts    = "logouts"
	mDeployTime = "deploy ms"
)

// drainDelay is the rolling deploy's deregistration delay: the longest a
// draining instance keeps serving its requests in flight.
const drainDelay = time.Second

func rollingDeployScenario() Scenario {
	var rows []Row
	for _, sticky := range []string{lb.StickyDuration, lb.StickyApp} {
		for _, store := range []string{"memory", "redis", "cookie"} {
			rows = append(rows, Row{Sticky: sticky, Store: store})
		}
	}
	return tableScenario{
		name:  "rolling-deploy",
		about: "every instance drained, restarted and registered again in turn while users keep working",
		rows:  rows,
		setup: func(_ ExperimentConfig, r Row) rigConfig {
			return rigConfig{Sticky: r.Sticky, Store: r.Store, DeregistrationDelay: drainDelay}
		},
		run: rollingRow,
		table: func(cfg ExperimentConfig, rows []Row) *Table {
			return &Table{
				Setup: fmt.Sprintf("%d users, each making a request every %v during the deploy, %d instances, deregistration delay %v",
					cfg.Users, thinkTime, cfg.Instances, drainDelay),
				Columns: []string{mLogouts, mDeployTime},
				Legend: []string{
					"logouts: times a user had to log in again (a user can be logged out by more than one restart)",
					"deploy: from the first drain to the last instance healthy again",
				},
				Findings: rollingFindings(rows, cfg.Users, cfg.Instances),
				Method: "Each user logs in and makes N answered GET /api/session. Then each instance in turn is deregistered (no new requests; " +
					"those in flight finish within the deregistration delay), restarted (SIGTERM, a new process) and registered again, and the next " +
					"waits until it is healthy; meanwhile every user makes a request every 100ms. Every user then makes N more.",
			}
		},
	}.scenario()
}

func rollingRow(ctx context.Context, cfg ExperimentConfig, r *rig, row *Row) error {
	users, before, err := r.settle(ctx, cfg)
	if err != nil {
		return err
	}
	began := time.Now()
	during, err := whileWarm(ctx, users, thinkTime, func() error {
		for _, name := range r.fleet.Names() {
			if err := r.redeploy(ctx, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	row.set(mDeployTime, float64(time.Since(began).Milliseconds()))
	after := phase(ctx, users, cfg.Requests, cfg.warm())
	// The logins and the steady phase count too: a user logged out there
	// (which the pattern does not expect) is not hidden.
	all := merge(before, during, after)
	row.count(all)
	logouts := 0
	for _, t := range all {
		logouts += t.logouts
	}
	row.set(mLogouts, float64(logouts))
	return nil
}

// redeploy drains the named instance, waits until it is unused, restarts
// it, registers it again and waits until it is healthy.
func (r *rig) redeploy(ctx context.Context, name string) error {
	r.bal.Drain(name)
	if err := awaitState(ctx, r.bal, name, lb.StateUnused); err != nil {
		return err
	}
	if _, err := r.fleet.Restart(ctx, name); err != nil {
		return err
	}
	r.bal.Register(name)
	return awaitTargets(ctx, r.bal, name)
}

// awaitState waits until the balancer shows the named target in state.
func awaitState(ctx context.Context, b *lb.Balancer, name, state string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		if slices.ContainsFunc(b.Targets(), func(t lb.TargetStatus) bool { return t.Name == name && t.State == state }) {
			return nil
		}
		pause(ctx, 10*time.Millisecond)
		if ctx.Err() != nil {
			return fmt.Errorf("balancer: target %s not %s: %w", name, state, context.Cause(ctx))
		}
	}
}

func rollingFindings(rows []Row, users, instances int) []string {
	var out, kept, lost []string
	failed := 0
	for _, r := range rows {
		failed += r.Failed
		label := fmt.Sprintf("%s (stickiness %s)", r.Store, r.Sticky)
		if r.LoggedOut == 0 {
			kept = append(kept, label)
			continue
		}
		lost = append(lost, label)
		out = append(out, fmt.Sprintf("Restarting all %d instances in turn on the %s store with %s stickiness logged out %s, %s in all: a drained instance's users are re-stuck to another one, which does not know their sessions.",
			instances, r.Store, r.Sticky, ofUsersNoVerb(r.LoggedOut, users), times(int(r.M(mLogouts)))))
	}
	if len(kept) > 0 {
		out = append(out, fmt.Sprintf("Nobody was logged out by the deploy on %s.", listAnd(kept)))
	}
	if failed == 0 {
		out = append(out, "No request failed: draining sent no new request to an instance about to restart, and let those in flight finish.")
	} else {
		out = append(out, fmt.Sprintf("%s failed during the deploys, draining notwithstanding.", requests(failed)))
	}
	return out
}
