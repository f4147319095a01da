package lab

import (
	"context"
	"fmt"
	"time"

	"stickylab/lb"
)

// The migrate scenario's variants and measures.
const (
	switchRestart = "restart"
	switchInPlace = "in-place"

	mOutAtSwitch  = "logged out by the switch"
	mOutAfterKill = "logged out by a kill after"
	mSwitchTime   = "switch ms"
)

func migrateScenario() Scenario {
	var rows []Row
	for _, sticky := range []string{lb.StickyDuration, lb.StickyApp} {
		for _, v := range []string{switchRestart, switchInPlace} {
			rows = append(rows, Row{Sticky: sticky, Store: "memory→redis", Variant: v})
		}
	}
	return tableScenario{
		name:  "migrate",
		about: "moving from memory sessions to Redis while users are logged in: the restart switch against the in-place switch",
		rows:  rows,
		keep: func(cfg ExperimentConfig, r Row) bool {
			return cfg.selected(r.Sticky, "memory") || cfg.selected(r.Sticky, "redis")
		},
		setup: func(_ ExperimentConfig, r Row) rigConfig {
			return rigConfig{Sticky: r.Sticky, Store: "memory", Redis: true}
		},
		run: migrateRow,
		table: func(cfg ExperimentConfig, rows []Row) *Table {
			return &Table{
				Setup:   fmt.Sprintf("%d users, %d instances, stickiness duration %v", cfg.Users, cfg.Instances, cfg.StickyDuration),
				Variant: "switch",
				Columns: []string{mOutAtSwitch, mOutAfterKill, mSwitchTime},
				Legend: []string{
					"restart: every instance restarted on Redis, one after the other (PUT /api/store {\"store\":\"redis\"})",
					"in-place: every instance reads Redis first and its memory second, moving each session it finds to Redis, no restart (PUT /api/store {\"store\":\"redis\",\"migrate\":true})",
					"by a kill after: the SIGKILL of the busiest instance once the switch is done",
				},
				Findings: migrateFindings(rows, cfg.Users),
				Method: "Each user logs in on memory sessions and makes N answered GET /api/session; the switch runs while every user keeps " +
					"making a request every 100ms; every user then makes N more, the busiest instance is killed (SIGKILL), and every user makes N more.",
			}
		},
	}.scenario()
}

// thinkTime is how long a user who keeps working waits between requests
// while an operator does something to the fleet.
const thinkTime = 100 * time.Millisecond

func migrateRow(ctx context.Context, cfg ExperimentConfig, r *rig, row *Row) error {
	users, before, err := r.settle(ctx, cfg)
	if err != nil {
		return err
	}
	warm := cfg.warm()
	began := time.Now()
	during, err := whileWarm(ctx, users, thinkTime, func() error {
		if row.Variant == switchInPlace {
			return r.fleet.MigrateToRedis(ctx)
		}
		return r.fleet.SetStore(ctx, "redis")
	})
	if err != nil {
		return err
	}
	row.set(mSwitchTime, float64(time.Since(began).Milliseconds()))
	after := phase(ctx, users, cfg.Requests, warm)
	switched := merge(during, after)
	killed, _ := busiest(summarize("", after).Spread, r.fleet.Names())
	if _, err := r.fleet.Kill(killed); err != nil {
		return err
	}
	afterKill := phase(ctx, users, cfg.Requests, warm)
	row.count(merge(before, switched, afterKill))
	row.set(mOutAtSwitch, float64(summarize("", switched).LoggedOut))
	row.set(mOutAfterKill, float64(summarize("", afterKill).LoggedOut))
	return nil
}

func migrateFindings(rows []Row, users int) []string {
	var out []string
	for _, r := range rows {
		s := fmt.Sprintf("The %s switch (stickiness %s, %v) logged out %s", r.Variant, r.Sticky,
			time.Duration(r.M(mSwitchTime))*time.Millisecond, loggedOutOf(int(r.M(mOutAtSwitch)), users))
		if r.Failed > 0 {
			s += fmt.Sprintf(" (%s failed)", requests(r.Failed))
		}
		if k := int(r.M(mOutAfterKill)); k == 0 {
			s += ", and a kill after it nobody: the sessions were in Redis."
		} else {
			s += fmt.Sprintf(", and a kill after it %s.", ofUsersNoVerb(k, users))
		}
		out = append(out, s)
	}
	var inPlaceOut, restartOut, inPlace, restart int
	for _, r := range rows {
		switch r.Variant {
		case switchInPlace:
			inPlace++
			inPlaceOut += r.LoggedOut
		case switchRestart:
			restart++
			restartOut += r.LoggedOut
		}
	}
	if inPlace > 0 && restart > 0 && inPlaceOut == 0 && restartOut > 0 {
		out = append(out, "Only the in-place switch moved to the shared store without logging anyone out: a restart empties the memory the sessions were in.")
	} else if inPlace > 0 && inPlaceOut > 0 {
		out = append(out, fmt.Sprintf("The in-place switch logged out %s in all: sessions were lost on the way to Redis.", usersCount(inPlaceOut)))
	}
	return out
}
