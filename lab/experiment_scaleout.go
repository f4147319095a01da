package lab

import (
	"context"
	"fmt"
	"math"

	"stickylab/lb"
)

// The scale-out scenario's measures.
const (
	mNewUsers     = "users on new"     // users the new instance answered after it joined
	mNewShare     = "new share %"      // its share of the requests after it joined
	mFairShare    = "fair share %"     // 100 / instances
	mMaxOverMin   = "busiest/idlest"   // requests of the busiest instance over the idlest's, after the join
	mNewcomersNew = "newcomers on new" // newcomers (users arriving after the join) it answered
	mStayersNew   = "old users on new" // users from before the join it answered
	scaleOutShare = 1.0 / 2            // newcomers, per user already there
	roundTo       = 10                 // one decimal
)

func scaleOutScenario() Scenario {
	var rows []Row
	for _, sticky := range []string{lb.StickyNone, lb.StickyDuration, lb.StickyApp} {
		rows = append(rows, Row{Sticky: sticky, Store: "redis"})
	}
	return tableScenario{
		name:  "scale-out",
		about: "a new instance joins under load: how many users and what share of the requests it gets",
		rows:  rows,
		setup: func(cfg ExperimentConfig, r Row) rigConfig {
			return rigConfig{Sticky: r.Sticky, Store: r.Store, Instances: cfg.Instances + 1, Later: []string{newInstance(cfg)}}
		},
		run: scaleOutRow,
		table: func(cfg ExperimentConfig, rows []Row) *Table {
			return &Table{
				Setup: fmt.Sprintf("%d users on %d instances, then instance %d joins and %d newcomers arrive",
					cfg.Users, cfg.Instances, cfg.Instances+1, newcomers(cfg)),
				Columns: []string{mStayersNew, mNewcomersNew, mNewShare, mFairShare, mMaxOverMin},
				Legend: []string{
					"old users / newcomers on new: how many of them the new instance answered after it joined",
					"new share: its share of the requests after it joined; fair share: 100 / instances",
					"busiest/idlest: requests of the busiest instance over the idlest's after the join",
				},
				Findings: scaleOutFindings(rows, cfg.Users, newcomers(cfg)),
				Method: "Instance N+1 runs from the start but is deregistered until the join. Each user logs in and makes N answered GET /api/session; " +
					"the new instance is registered and healthy; then every user makes N more while the newcomers log in and make N each. " +
					"Requests per instance are the balancer's counters over the phase after the join. Sessions are in Redis, so nobody is logged out for moving.",
			}
		},
	}.scenario()
}

// newInstance names the instance that joins.
func newInstance(cfg ExperimentConfig) string { return fmt.Sprintf("app-%d", cfg.Instances+1) }

// newcomers is how many users arrive after the new instance joined: half
// as many as were there.
func newcomers(cfg ExperimentConfig) int { return max(1, cfg.Users/2) }

func scaleOutRow(ctx context.Context, cfg ExperimentConfig, r *rig, row *Row) error {
	newName := newInstance(cfg)
	users, settled, err := r.settle(ctx, cfg)
	if err != nil {
		return err
	}
	comers, err := r.crowd(cfg.Users+1, newcomers(cfg))
	if err != nil {
		return err
	}
	r.bal.Register(newName)
	if err := awaitTargets(ctx, r.bal, newName); err != nil {
		return err
	}
	before := requestCounts(r.bal)
	n := len(users)
	everyone := append(append([]*user(nil), users...), comers...)
	after := together(ctx, everyone, cfg.warm(), func(ctx context.Context, u *user, t *tally) {
		if !u.loggedIn {
			u.login(ctx, t)
		}
		for got := 0; got < cfg.Requests && ctx.Err() == nil; {
			if u.visit(ctx, t) {
				got++
			}
		}
	})
	counts := requestCounts(r.bal)
	row.count(merge(settled, after[:n]), after[n:])

	stayers, arrived := 0, 0
	for i, t := range after {
		if t.served[newName] {
			if i < n {
				stayers++
			} else {
				arrived++
			}
		}
	}
	total, most, least := 0.0, 0.0, math.Inf(1)
	for name, c := range counts {
		d := float64(c - before[name])
		total += d
		most, least = max(most, d), min(least, d)
	}
	row.set(mStayersNew, float64(stayers))
	row.set(mNewcomersNew, float64(arrived))
	if total > 0 {
		row.set(mNewShare, math.Round(float64(counts[newName]-before[newName])/total*100*roundTo)/roundTo)
	}
	row.set(mFairShare, math.Round(100/float64(cfg.Instances+1)*roundTo)/roundTo)
	if least > 0 {
		row.set(mMaxOverMin, math.Round(most/least*roundTo)/roundTo)
	}
	return nil
}

// requestCounts returns the requests each target has answered so far.
func requestCounts(b *lb.Balancer) map[string]uint64 {
	out := map[string]uint64{}
	for _, t := range b.Targets() {
		out[t.Name] = t.Requests
	}
	return out
}

func scaleOutFindings(rows []Row, users, newcomers int) []string {
	var out []string
	for _, r := range rows {
		s := fmt.Sprintf("With stickiness %s the new instance got %d of the %s already there and %d of the %s, %v%% of the requests (a fair share is %v%%)",
			r.Sticky, int(r.M(mStayersNew)), usersCount(users), int(r.M(mNewcomersNew)), plural(newcomers, "1 newcomer", fmt.Sprintf("%d newcomers", newcomers)), r.M(mNewShare), r.M(mFairShare))
		switch ratio := r.M(mMaxOverMin); {
		case ratio == 0:
			s += "; one instance got no request at all."
		case ratio >= 1.5:
			s += fmt.Sprintf("; the busiest instance served %v times the requests of the idlest.", ratio)
		default:
			s += fmt.Sprintf("; the load stayed even (busiest/idlest %v).", ratio)
		}
		out = append(out, s)
	}
	var stuck []string
	for _, r := range rows {
		if r.Sticky != lb.StickyNone && r.M(mStayersNew) == 0 && r.M(mNewShare) < r.M(mFairShare) {
			stuck = append(stuck, r.Sticky)
		}
	}
	if len(stuck) > 0 {
		out = append(out, fmt.Sprintf("With %s stickiness no user already there moved to the new instance: it takes only newcomers until stickiness expires, so after a scale-out the load stays uneven (ALB's advice: rebalance by hand, or make stickiness shorter).",
			listAnd(stuck)))
	}
	return out
}
