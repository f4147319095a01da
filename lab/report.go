package lab

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// WriteTable prints the result as one table a learner can read at a glance,
// then the findings, one per line.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	failover := "on"
	if !r.PassiveFailover {
		failover = "off (ALB)"
	}
	fmt.Fprintf(&b, "%d users, %d requests each per phase, %d instances, stickiness duration %v, passive failover %s; %d %s in %v\n\n",
		r.Users, r.Requests, r.Instances, time.Duration(r.StickyDuration), failover, len(r.Cells), plural(len(r.Cells), "cell", "cells"), time.Duration(r.Elapsed).Round(100*time.Millisecond))
	fmt.Fprintf(&b, "%-20s%s\n", "", "users logged out / requests failed, per phase")
	fmt.Fprintf(&b, "%-9s %-9s %-10s %-10s %-10s %-10s   %-18s %s\n",
		"STICKY", "STORE", "steady", "killed", "back", "expired", "KILLED", "USERS SEEN BY EACH INSTANCE, STEADY")
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "%-9s %-9s", c.Sticky, c.Store)
		for _, name := range Phases {
			p, _ := c.Phase(name)
			fmt.Fprintf(&b, " %-10s", fmt.Sprintf("%2d / %d", p.LoggedOut, p.Failed))
		}
		steady, _ := c.Phase(PhaseSteady)
		fmt.Fprintf(&b, "   %-18s %s\n", fmt.Sprintf("%s (%d users)", c.Killed, c.KilledUsers), spread(steady, r.Instances))
	}
	b.WriteString("\nsteady: all instances up · killed: right after SIGKILL of the busiest instance · " +
		"back: after its restart · expired: after a pause longer than the stickiness duration · " +
		"users seen: how many different users each instance answered (without stickiness every user meets every instance)\n\n")
	for _, c := range r.Cells {
		for _, warn := range c.Warnings {
			fmt.Fprintf(&b, "warning (%s/%s): %s\n", c.Sticky, c.Store, warn)
		}
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s\n", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// spread shows how many users each instance answered, app-1 first.
func spread(p Phase, instances int) string {
	parts := make([]string, instances)
	for i := range parts {
		parts[i] = fmt.Sprint(p.Spread[fmt.Sprintf("app-%d", i+1)])
	}
	return strings.Join(parts, " / ")
}

// findings states in words what the numbers show. Every sentence is built
// from the measurements, so a result that breaks the expected pattern reads
// as such.
func findings(r *Result) []string {
	var out []string
	// Per store other than memory, in the order met: the phases where users
	// were logged out, and the stickiness modes run.
	var others []string
	lost := map[string][]string{}
	modes := map[string][]string{}
	memorySticky, memoryStickyLostOnKill := 0, 0
	failed := 0
	for _, c := range r.Cells {
		for _, p := range c.Phases {
			failed += p.Failed
		}
		switch {
		case c.Store == "memory" && c.Sticky == "none":
			out = append(out, memoryNone(r, c))
		case c.Store == "memory":
			memorySticky++
			if p, _ := c.Phase(PhaseKilled); p.LoggedOut > 0 {
				memoryStickyLostOnKill++
			}
			out = append(out, memoryStuck(r, c))
		default:
			if !slices.Contains(others, c.Store) {
				others = append(others, c.Store)
			}
			modes[c.Store] = append(modes[c.Store], c.Sticky)
			for _, p := range c.Phases {
				if p.LoggedOut > 0 {
					lost[c.Store] = append(lost[c.Store], fmt.Sprintf("%s in the %s phase with stickiness %s", usersCount(p.LoggedOut), p.Name, c.Sticky))
				}
			}
		}
	}
	for _, store := range others {
		if len(lost[store]) == 0 {
			out = append(out, fmt.Sprintf("%s store: nobody was logged out in any phase, %s: %s.", storeTitle(store), withStickiness(modes[store]), storeWhy(store)))
		} else {
			out = append(out, fmt.Sprintf("%s store, users logged out: %s.", storeTitle(store), strings.Join(lost[store], "; ")))
		}
	}
	switch {
	case failed == 0 && r.PassiveFailover:
		out = append(out, "No request failed: passive failover sent the requests meant for the killed instance to another one at once.")
	case failed == 0:
		out = append(out, "No request failed.")
	case r.PassiveFailover:
		out = append(out, fmt.Sprintf("%s failed, even with passive failover (%s).", requests(failed), failedWhy(cellFailures(r.Cells))))
	default:
		out = append(out, fmt.Sprintf("%s failed: without passive failover (ALB's behaviour) the clients of the killed instance get 502 until the health check marks it unhealthy.", requests(failed)))
	}
	out = append(out, expiredInside(r)...)
	noneLost := len(others) > 0
	for _, store := range others {
		noneLost = noneLost && len(lost[store]) == 0
	}
	if memorySticky > 0 && memoryStickyLostOnKill == memorySticky && noneLost {
		out = append(out, fmt.Sprintf("Stickiness only decides who is logged out, and when; only the %s kept everyone logged in.", keptBy(others)))
	}
	return out
}

// expiredInside says, per cell, when a phase's counts mix in something
// else than its lesson: health checks that timed out under load, or
// stickiness that expired inside a phase that should have kept it (the
// crowd's requests came further apart than the stickiness duration).
func expiredInside(r *Result) []string {
	var out []string
	for _, c := range r.Cells {
		var in, maybe []string
		longest := Duration(0)
		for _, p := range c.Phases {
			switch {
			case p.StickyExpired > 0:
				in = append(in, fmt.Sprintf("%s in the %s phase", ofUsersNoVerb(p.StickyExpired, r.Users), p.Name))
			case p.MaybeExpired > 0:
				maybe = append(maybe, fmt.Sprintf("%s in the %s phase", ofUsersNoVerb(p.MaybeExpired, r.Users), p.Name))
			default:
				continue
			}
			longest = max(longest, p.LongestGap)
		}
		slow := 0
		for _, p := range c.Phases {
			slow += p.SlowChecks
		}
		if slow > 0 {
			out = append(out, fmt.Sprintf("Health checks timed out %s in %s/%s: the balancer took a live instance for a dead one and moved its users as a crash would, so the logged-out counts include it; lower -users or raise -health-interval (it was %v).",
				times(slow), c.Sticky, c.Store, time.Duration(r.HealthInterval)))
		}
		switch {
		case len(in) > 0:
			out = append(out, fmt.Sprintf("Stickiness expired inside a phase (%s/%s) for %s: they stayed idle longer than the %v stickiness duration (up to %v between two answers), so those phases' counts include expiry; raise -sticky-duration or lower -users.",
				c.Sticky, c.Store, listAnd(in), time.Duration(r.StickyDuration), time.Duration(longest)))
		case len(maybe) > 0:
			out = append(out, fmt.Sprintf("Stickiness may have expired inside a phase (%s/%s) for %s: up to %v passed between one of their answers and the next, longer than the %v stickiness duration (the balancer saw the request later than it was sent, by an unknown amount); if those phases' counts are off, raise -sticky-duration or lower -users.",
				c.Sticky, c.Store, listAnd(maybe), time.Duration(longest), time.Duration(r.StickyDuration)))
		}
	}
	return out
}

// storeTitle is the store's name at the start of a sentence.
func storeTitle(store string) string {
	switch store {
	case "redis":
		return "Redis"
	case "":
		return ""
	}
	return strings.ToUpper(store[:1]) + store[1:]
}

// storeWhy says why a store keeps users logged in whatever the instance.
func storeWhy(store string) string {
	if store == "cookie" {
		return "each request carries its whole session, which any instance can read"
	}
	return "every instance reads the same sessions"
}

// keptBy names the stores that kept everyone logged in.
func keptBy(stores []string) string {
	var names []string
	for _, s := range stores {
		switch s {
		case "redis":
			names = append(names, "shared store")
		case "cookie":
			names = append(names, "cookie store")
		default:
			names = append(names, s+" store")
		}
	}
	return strings.Join(names, " and the ")
}

func memoryNone(r *Result, c Cell) string {
	steady, _ := c.Phase(PhaseSteady)
	if steady.LoggedOut == 0 {
		return "Memory store without stickiness: nobody was logged out in steady state."
	}
	return fmt.Sprintf("Memory store without stickiness: %s logged out in steady state, with every instance up: "+
		"each instance knows only its own sessions, and the balancer moves users between them.",
		ofUsers(steady.LoggedOut, r.Users))
}

func memoryStuck(r *Result, c Cell) string {
	steady, _ := c.Phase(PhaseSteady)
	killed, _ := c.Phase(PhaseKilled)
	back, _ := c.Phase(PhaseBack)
	expired, _ := c.Phase(PhaseExpired)
	var b strings.Builder
	fmt.Fprintf(&b, "Memory store with %s stickiness: ", c.Sticky)
	if steady.LoggedOut == 0 {
		b.WriteString("nobody was logged out while every instance was up; ")
	} else {
		fmt.Fprintf(&b, "%s logged out while every instance was up; ", ofUsers(steady.LoggedOut, r.Users))
	}
	fmt.Fprintf(&b, "killing %s logged out %d of %d users", c.Killed, killed.LoggedOut, r.Users)
	if killed.LoggedOut == c.KilledUsers {
		fmt.Fprintf(&b, ", exactly the %d it served", c.KilledUsers)
	} else {
		fmt.Fprintf(&b, " (it served %d)", c.KilledUsers)
	}
	switch {
	case back.LoggedOut > 0:
		fmt.Fprintf(&b, "; after its restart %s logged out", ofUsers(back.LoggedOut, r.Users))
	case back.Spread[c.Killed] == 0:
		b.WriteString("; its restart logged out nobody, and no user came back to it: a re-stuck client stays on its new instance")
	default:
		fmt.Fprintf(&b, "; its restart logged out nobody, and %d came back to it", back.Spread[c.Killed])
	}
	if expired.LoggedOut == 0 {
		fmt.Fprintf(&b, "; once the %v stickiness had expired, nobody was logged out.", time.Duration(r.StickyDuration))
	} else {
		fmt.Fprintf(&b, "; once the %v stickiness had expired, %s logged out again, as the balancer spread them anew.",
			time.Duration(r.StickyDuration), ofUsers(expired.LoggedOut, r.Users))
	}
	return b.String()
}

func usersCount(n int) string {
	if n == 1 {
		return "1 user"
	}
	return fmt.Sprintf("%d users", n)
}

// withStickiness says "with any stickiness (none, duration, app)", or names
// the modes when some did not run.
func withStickiness(modes []string) string {
	if len(modes) == 1 {
		return "with stickiness " + modes[0]
	}
	all := slices.Contains(modes, "none") && slices.Contains(modes, "duration") && slices.Contains(modes, "app")
	if all {
		return "with any stickiness (" + strings.Join(modes, ", ") + ")"
	}
	return "with stickiness " + strings.Join(modes, " and ")
}

// ofUsersNoVerb says "3 of 30 users" (or "1 of 30 users").
func ofUsersNoVerb(n, total int) string {
	return fmt.Sprintf("%d of %d %s", n, total, plural(total, "user", "users"))
}

// ofUsers says "3 of 30 users were", or "1 of 30 users was".
func ofUsers(n, total int) string {
	return ofUsersNoVerb(n, total) + " " + plural(n, "was", "were")
}

// cellFailures adds up why requests failed, over every cell and phase.
func cellFailures(cells []Cell) map[string]int {
	out := map[string]int{}
	for _, c := range cells {
		for _, p := range c.Phases {
			for why, n := range p.FailedBy {
				out[why] += n
			}
		}
	}
	return out
}

// failedWhy says "3× GET /api/session: status 503, 1× connection reset",
// the commonest first.
func failedWhy(by map[string]int) string {
	whys := slices.Collect(maps.Keys(by))
	slices.SortFunc(whys, func(a, b string) int { return cmp.Or(by[b]-by[a], strings.Compare(a, b)) })
	parts := make([]string, len(whys))
	for i, why := range whys {
		parts[i] = fmt.Sprintf("%d× %s", by[why], why)
	}
	return strings.Join(parts, ", ")
}

// listAnd joins items as "a", "a and b", "a, b and c".
func listAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func requests(n int) string {
	if n == 1 {
		return "1 request"
	}
	return fmt.Sprintf("%d requests", n)
}
