package lab

import (
	"encoding/json"
	"fmt"
	"io"
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
	fmt.Fprintf(&b, "%d users, %d requests each per phase, %d instances, stickiness duration %v, passive failover %s; %d cells in %v\n\n",
		r.Users, r.Requests, r.Instances, time.Duration(r.StickyDuration), failover, len(r.Cells), time.Duration(r.Elapsed).Round(100*time.Millisecond))
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
	var redisLost, redisModes []string
	memorySticky, memoryStickyLostOnKill, redisCells := 0, 0, 0
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
			redisCells++
			redisModes = append(redisModes, c.Sticky)
			for _, p := range c.Phases {
				if p.LoggedOut > 0 {
					redisLost = append(redisLost, fmt.Sprintf("%s in the %s phase with stickiness %s", usersCount(p.LoggedOut), p.Name, c.Sticky))
				}
			}
		}
	}
	switch {
	case redisCells > 0 && len(redisLost) == 0:
		out = append(out, fmt.Sprintf("Redis store: nobody was logged out in any phase, %s: every instance reads the same sessions.", withStickiness(redisModes)))
	case redisCells > 0:
		out = append(out, fmt.Sprintf("Redis store: %s were logged out.", strings.Join(redisLost, "; ")))
	}
	switch {
	case failed == 0 && r.PassiveFailover:
		out = append(out, "No request failed: passive failover sent the requests meant for the killed instance to another one at once.")
	case failed == 0:
		out = append(out, "No request failed.")
	case r.PassiveFailover:
		out = append(out, fmt.Sprintf("%s failed, even with passive failover.", requests(failed)))
	default:
		out = append(out, fmt.Sprintf("%s failed: without passive failover (ALB's behaviour) the clients of the killed instance get 502 until the health check marks it unhealthy.", requests(failed)))
	}
	if memorySticky > 0 && memoryStickyLostOnKill == memorySticky && redisCells > 0 && len(redisLost) == 0 {
		out = append(out, "Stickiness only decides who is logged out, and when; only the shared store kept everyone logged in.")
	}
	return out
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
		fmt.Fprintf(&b, "; its restart logged out %s", ofUsers(back.LoggedOut, r.Users))
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

// ofUsers says "3 of 30 users were".
func ofUsers(n, total int) string {
	if n == 1 {
		return fmt.Sprintf("1 of %d users was", total)
	}
	return fmt.Sprintf("%d of %d users were", n, total)
}

func requests(n int) string {
	if n == 1 {
		return "1 request"
	}
	return fmt.Sprintf("%d requests", n)
}
