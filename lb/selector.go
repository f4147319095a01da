package lb

import (
	"math/rand/v2"
	"sync/atomic"
)

// selector picks the target of a request that stickiness does not bind, as
// Caddy's Selector does. candidates is never empty. Implementations are safe
// for concurrent use and take no locks.
type selector interface {
	pick(candidates []*target) *target
}

var (
	_ selector = (*roundRobin)(nil)
	_ selector = (*leastOutstanding)(nil)
	_ selector = weightedRandom{}
)

func newSelector(algorithm string) selector {
	switch algorithm {
	case LeastOutstandingRequests:
		return &leastOutstanding{}
	case WeightedRandom:
		return weightedRandom{}
	}
	return &roundRobin{}
}

// weightedRandom is ALB's weighted_random without anomaly mitigation:
// every candidate has the same weight, so a uniform random pick.
type weightedRandom struct{}

func (weightedRandom) pick(candidates []*target) *target {
	return candidates[rand.IntN(len(candidates))]
}

// roundRobin takes the candidates in turn.
type roundRobin struct{ next atomic.Uint32 }

func (rr *roundRobin) pick(candidates []*target) *target {
	return candidates[(rr.next.Add(1)-1)%uint32(len(candidates))]
}

// leastOutstanding takes the candidate with the fewest requests in flight;
// ties go round robin so that an idle pool still spreads requests.
type leastOutstanding struct{ next atomic.Uint32 }

func (lo *leastOutstanding) pick(candidates []*target) *target {
	n := uint32(len(candidates))
	start := (lo.next.Add(1) - 1) % n
	best := candidates[start]
	bestN := best.inFlight.Load()
	for i := uint32(1); i < n && bestN > 0; i++ {
		t := candidates[(start+i)%n]
		if c := t.inFlight.Load(); c < bestN {
			best, bestN = t, c
		}
	}
	return best
}
