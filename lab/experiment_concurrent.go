package lab

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"stickylab/lb"
)

// The concurrent scenario's variants and measures.
const (
	casOn  = "on"
	casOff = "off"
	casNA  = "n/a" // the cookie store: the browser keeps the last cookie it got

	mItemsAdded = "items added" // answered 2xx
	mItemsKept  = "items kept"  // in the carts at the end
	mItemsLost  = "items lost"
	mUsersLost  = "users with items lost"
)

// How the tabs of the concurrent scenario add items: tabs requests at
// once, rounds times, per user.
const (
	concurrentTabs   = 4
	concurrentRounds = 5
)

func concurrentScenario() Scenario {
	return tableScenario{
		name:  "concurrent",
		about: "one user's simultaneous requests (several tabs adding to one cart): lost updates with and without compare-and-set",
		rows: []Row{
			{Sticky: lb.StickyDuration, Store: "memory", Variant: casOn},
			{Sticky: lb.StickyDuration, Store: "memory", Variant: casOff},
			{Sticky: lb.StickyNone, Store: "redis", Variant: casOn},
			{Sticky: lb.StickyNone, Store: "redis", Variant: casOff},
			{Sticky: lb.StickyNone, Store: "cookie", Variant: casNA},
		},
		setup: func(_ ExperimentConfig, r Row) rigConfig {
			rc := rigConfig{Sticky: r.Sticky, Store: r.Store}
			if r.Variant == casOff {
				rc.Args = []string{"-cas=false"}
			}
			return rc
		},
		run: concurrentRow,
		table: func(cfg ExperimentConfig, rows []Row) *Table {
			return &Table{
				Setup: fmt.Sprintf("%d users, each adding %d items at once (%d tabs), %d times; %d instances",
					cfg.Users, concurrentTabs, concurrentTabs, concurrentRounds, cfg.Instances),
				Variant: "cas",
				Columns: []string{mItemsAdded, mItemsKept, mItemsLost, mUsersLost},
				Legend: []string{
					"cas on: compare-and-set on every session write, and an instance serialises a session's requests; off: -cas=false, last writer wins, as the usual gorilla stores",
					"items added: additions answered 2xx; kept: in the carts at the end",
				},
				Findings: concurrentFindings(rows),
				Method: "Each user logs in, then sends T cart additions at once (T tabs sharing one cookie jar, as a browser's tabs do), waits for all, " +
					"and does it R times; finally it reads its cart. An item whose addition was answered 2xx but is not in the cart was lost. " +
					"A refused addition (409 after the compare-and-set retries ran out) counts as failed.",
			}
		},
	}.scenario()
}

func concurrentRow(ctx context.Context, cfg ExperimentConfig, r *rig, row *Row) error {
	users, err := r.crowd(1, cfg.Users)
	if err != nil {
		return err
	}
	login := loginAll(ctx, users, cfg.warm())
	index := map[*user]int{}
	for i, u := range users {
		index[u] = i
	}
	added, kept := make([]int, len(users)), make([]int, len(users))
	tabs := together(ctx, users, 0, func(ctx context.Context, u *user, t *tally) {
		for round := range concurrentRounds {
			added[index[u]] += u.tabs(ctx, t, round)
		}
		var s sessionView
		if _, ok := u.do(ctx, t, http.MethodGet, "/api/session", nil, &s); ok {
			kept[index[u]] = len(s.Cart)
		}
	})
	row.count(merge(login, tabs))
	var sumAdded, sumKept, usersLost int
	for i := range users {
		sumAdded += added[i]
		sumKept += kept[i]
		if kept[i] < added[i] {
			usersLost++
		}
	}
	row.set(mItemsAdded, float64(sumAdded))
	row.set(mItemsKept, float64(sumKept))
	row.set(mItemsLost, float64(sumAdded-sumKept))
	row.set(mUsersLost, float64(usersLost))
	return nil
}

// tabs sends concurrentTabs cart additions of u at once and returns how
// many were answered 2xx.
func (u *user) tabs(ctx context.Context, t *tally, round int) int {
	go1 := make(chan struct{})
	results := make([]tally, concurrentTabs)
	ok := make([]bool, concurrentTabs)
	var wg sync.WaitGroup
	for i := range concurrentTabs {
		wg.Go(func() {
			results[i] = newTally()
			<-go1
			status, _ := u.addItem(ctx, &results[i], fmt.Sprintf("r%d-tab%d", round+1, i+1))
			ok[i] = status == http.StatusOK
		})
	}
	close(go1)
	wg.Wait()
	n := 0
	for i := range results {
		t.add(results[i])
		if ok[i] {
			n++
		}
	}
	return n
}

func concurrentFindings(rows []Row) []string {
	var out, lossy, safe []string
	for _, r := range rows {
		label := fmt.Sprintf("%s (cas %s)", r.Store, r.Variant)
		if r.Variant == casNA {
			label = r.Store
		}
		lost := int(r.M(mItemsLost))
		what := fmt.Sprintf("%s store, cas %s, stickiness %s", storeTitle(r.Store), r.Variant, r.Sticky)
		if r.Variant == casNA {
			what = fmt.Sprintf("%s store, stickiness %s", storeTitle(r.Store), r.Sticky)
		}
		s := fmt.Sprintf("%s: %d of %s lost", what, lost, itemsCount(int(r.M(mItemsAdded))))
		if lost > 0 {
			s += fmt.Sprintf(", in the carts of %s", usersCount(int(r.M(mUsersLost))))
			lossy = append(lossy, label)
		} else {
			safe = append(safe, label)
		}
		if r.Failed > 0 {
			s += fmt.Sprintf("; %s failed", requests(r.Failed))
		}
		out = append(out, s+".")
	}
	if len(lossy) > 0 && len(safe) > 0 {
		out = append(out, fmt.Sprintf("Items were lost with %s and none with %s: an answered addition stays in the cart only where a write cannot overwrite a change it did not read.",
			listAnd(lossy), listAnd(safe)))
	}
	return out
}
