package lab

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"stickylab/lb"
)

// The stateless scenario's measures.
const (
	mCookieBytes = "session cookie bytes" // per request, after login: the session cookie's name=value
	mCartKept    = "cart kept"            // items of the probe's cart kept in the session
	mRefusedAt   = "refused at item"      // the first item refused (0: none of cartProbe)
	mCopiesValid = "copies valid after logout"
)

// cartProbe is how many 64-character items the stateless scenario tries
// to put in one cart: more than a 4096-byte cookie holds, fewer than the
// app's cart limit.
const cartProbe = 40

func statelessScenario() Scenario {
	return tableScenario{
		name:  "stateless",
		about: "the cookie store: no shared store and no stickiness needed, but a size limit and a logout that does not end a copied cookie",
		rows: []Row{
			{Sticky: lb.StickyDuration, Store: "memory"},
			{Sticky: lb.StickyNone, Store: "redis"},
			{Sticky: lb.StickyNone, Store: "cookie"},
		},
		run: statelessRow,
		table: func(cfg ExperimentConfig, rows []Row) *Table {
			return &Table{
				Setup: fmt.Sprintf("%d users, %d requests each before and after the SIGKILL of the busiest instance, %d instances, stickiness duration %v",
					cfg.Users, cfg.Requests, cfg.Instances, cfg.StickyDuration),
				Columns: []string{mCookieBytes, mCartKept, mRefusedAt, mCopiesValid},
				Legend: []string{
					"session cookie bytes: the session cookie each request carried (name=value), on average",
					fmt.Sprintf("cart: one user adds %d items of %d characters; refused at: the first item refused (0: none)", cartProbe, probeItemLen),
					"copies valid: users whose copy of their cookies, taken before logout, still shows them logged in after it",
				},
				Findings: statelessFindings(rows, cfg.Users),
				Method: "Each user logs in and makes N answered GET /api/session; the busiest instance is killed (SIGKILL) and every user makes N more. " +
					"Session cookie bytes: the session cookie (name=value) the users sent, per request. One user then adds items to the cart until one is refused or all are in, " +
					"and reads the cart back. Every user copies its cookies, logs out, and asks GET /api/session with the copy.",
			}
		},
	}.scenario()
}

// probeItemLen is the length of a probe cart item: the app's longest.
const probeItemLen = 64

func statelessRow(ctx context.Context, cfg ExperimentConfig, r *rig, row *Row) error {
	users, before, err := r.settle(ctx, cfg)
	if err != nil {
		return err
	}
	killed, _ := busiest(summarize("", before).Spread, r.fleet.Names())
	if _, err := r.fleet.Kill(killed); err != nil {
		return err
	}
	after := phase(ctx, users, cfg.Requests, cfg.warm())
	row.count(before, after)
	sent, reqs := 0, 0
	for _, t := range after {
		sent += t.cookieSent
		reqs += t.requests
	}
	if reqs > 0 {
		row.set(mCookieBytes, float64(sent/reqs))
	}

	kept, refusedAt := fillCart(ctx, users[0])
	row.set(mCartKept, float64(kept))
	row.set(mRefusedAt, float64(refusedAt))

	valid := 0
	for _, u := range users {
		if copyOutlivesLogout(ctx, u) {
			valid++
		}
	}
	row.set(mCopiesValid, float64(valid))
	return nil
}

// merge adds the tallies of several phases, user by user.
func merge(phases ...[]tally) []tally {
	out := make([]tally, len(phases[0]))
	for i := range out {
		out[i] = newTally()
		for _, p := range phases {
			out[i].add(p[i])
		}
	}
	return out
}

// fillCart adds cartProbe items to u's cart, stopping at the first one
// refused, and returns how many the session then holds, read back, and
// the number of the item refused (0: none was).
func fillCart(ctx context.Context, u *user) (kept, refusedAt int) {
	t := newTally()
	for i := 1; i <= cartProbe; i++ {
		item := fmt.Sprintf("%03d-%s", i, strings.Repeat("x", probeItemLen-4))
		if status, _ := u.addItem(ctx, &t, item); status != http.StatusOK {
			refusedAt = i
			break
		}
	}
	var s sessionView
	if _, ok := u.do(ctx, &t, http.MethodGet, "/api/session", nil, &s); ok {
		kept = len(s.Cart)
	}
	return kept, refusedAt
}

// copyOutlivesLogout copies u's cookies, logs u out, and reports whether
// the copy still shows u logged in afterwards.
func copyOutlivesLogout(ctx context.Context, u *user) bool {
	stolen, err := u.copy()
	if err != nil {
		return false
	}
	t := newTally()
	if !u.logout(ctx, &t) {
		return false
	}
	var s sessionView
	_, ok := stolen.do(ctx, &t, http.MethodGet, "/api/session", nil, &s)
	return ok && s.LoggedIn && s.User == u.name
}

func statelessFindings(rows []Row, users int) []string {
	var out, kills, carts, copies, sizes []string
	for _, r := range rows {
		what := fmt.Sprintf("%s (stickiness %s)", r.Store, r.Sticky)
		kills = append(kills, fmt.Sprintf("%s: %s", what, loggedOutOf(r.LoggedOut, users)))
		if at := int(r.M(mRefusedAt)); at > 0 {
			carts = append(carts, fmt.Sprintf("%s refused item %d and kept the %s before it", r.Store, at, itemsCount(int(r.M(mCartKept)))))
		} else {
			carts = append(carts, fmt.Sprintf("%s kept all %s", r.Store, itemsCount(int(r.M(mCartKept)))))
		}
		copies = append(copies, fmt.Sprintf("%s %d of %d", r.Store, int(r.M(mCopiesValid)), users))
		sizes = append(sizes, fmt.Sprintf("%s %d", r.Store, int(r.M(mCookieBytes))))
	}
	if len(rows) == 0 {
		return nil
	}
	out = append(out, "Users logged out by the SIGKILL of the busiest instance: "+strings.Join(kills, "; ")+".")
	for _, r := range rows {
		if r.Store == "cookie" && r.LoggedOut == 0 {
			out = append(out, fmt.Sprintf("The cookie store kept everyone logged in through the kill with stickiness %s and no shared store: each request carries its whole session.", r.Sticky))
		}
	}
	out = append(out, fmt.Sprintf("A cart of %d-character items, up to %d: %s.", probeItemLen, cartProbe, strings.Join(carts, "; ")))
	out = append(out, "Copies of a user's cookies taken before logout that still showed the user logged in after it: "+strings.Join(copies, ", ")+
		". "+copyVerdict(rows))
	out = append(out, "Session cookie bytes per request, logged in with an empty cart: "+strings.Join(sizes, ", ")+".")
	return out
}

// copyVerdict says what the copies show, from the numbers.
func copyVerdict(rows []Row) string {
	var survived, ended []string
	for _, r := range rows {
		if r.M(mCopiesValid) > 0 {
			survived = append(survived, r.Store)
		} else {
			ended = append(ended, r.Store)
		}
	}
	switch {
	case len(survived) == 0:
		return "Logout ended every session."
	case len(ended) == 0:
		return "No store's logout ended a copied session."
	}
	return fmt.Sprintf("Logout deletes the session on %s, so a copy is worthless; on %s the session is the cookie, and a copy stays valid until it expires.",
		listAnd(ended), listAnd(survived))
}

func loggedOutOf(n, total int) string {
	if n == 0 {
		return "nobody"
	}
	return ofUsersNoVerb(n, total)
}

func itemsCount(n int) string {
	if n == 1 {
		return "1 item"
	}
	return fmt.Sprintf("%d items", n)
}
