package lb

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Anomaly mitigation (ALB's load_balancing.algorithm.anomaly_mitigation,
// weighted_random only): each target's share of failed answers (5xx from
// it, or the balancer's 502/504 for it) is followed over the last seconds;
// a target whose share stands out from the others' gets a small weight, so
// that it still sees a little traffic and is noticed when it recovers. As
// on ALB, it acts only with at least minAnomalyHealthy healthy targets, and
// never on most of them.
const (
	minAnomalyHealthy = 3
	anomalyHalfLife   = 10 * time.Second
	anomalyMinRate    = 0.1  // below this share of failures, no target is anomalous
	anomalyWeight     = 0.05 // a mitigated target's weight, the others' being 1
	anomalyMinSamples = 5    // answers (decayed) before a target can be judged
)

// anomalyStats is one target's decayed counts of answers and failures.
type anomalyStats struct {
	mu         sync.Mutex // guards the fields below
	total, bad float64
	at         time.Time
}

// decay brings the counts to now; called with mu held.
func (a *anomalyStats) decay(now time.Time) {
	if !a.at.IsZero() {
		f := math.Exp2(-float64(now.Sub(a.at)) / float64(anomalyHalfLife))
		a.total, a.bad = a.total*f, a.bad*f
	}
	a.at = now
}

// record counts one answer.
func (a *anomalyStats) record(now time.Time, failed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.decay(now)
	a.total++
	if failed {
		a.bad++
	}
}

// rate is the share of failed answers now, and whether there were enough
// answers to tell.
func (a *anomalyStats) rate(now time.Time) (float64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.decay(now)
	if a.total < anomalyMinSamples {
		return 0, false
	}
	return a.bad / a.total, true
}

// failedAnswer reports whether the exchange's answer counts as a failure
// of its target for anomaly detection.
func failedAnswer(ex *exchange) bool {
	return ex.status >= 500 && ex.status <= 599
}

// pickMitigated is weighted_random with anomaly mitigation: anomalous
// targets (a failure share at least anomalyMinRate and twice the median's)
// get anomalyWeight.
func pickMitigated(candidates []*target, now time.Time) *target {
	if len(candidates) < minAnomalyHealthy {
		return candidates[rand.IntN(len(candidates))]
	}
	rates := make([]float64, len(candidates))
	known := make([]float64, 0, len(candidates))
	for i, t := range candidates {
		r, ok := t.anomaly.rate(now)
		rates[i] = r
		if ok {
			known = append(known, r)
		}
	}
	median := medianOf(known)
	weights := make([]float64, len(candidates))
	total, mitigated := 0.0, 0
	for i, r := range rates {
		weights[i] = 1
		if r >= anomalyMinRate && r >= 2*median {
			weights[i] = anomalyWeight
			mitigated++
		}
		total += weights[i]
	}
	if mitigated*2 > len(candidates) {
		// Most targets failing is the application's failure, not an
		// anomaly of a few: nothing to route around.
		return candidates[rand.IntN(len(candidates))]
	}
	return pickWeighted(candidates, weights, total)
}

// pickWeighted picks one of candidates at random in proportion to weights,
// whose sum is total.
func pickWeighted(candidates []*target, weights []float64, total float64) *target {
	x := rand.Float64() * total
	for i, w := range weights {
		if x < w {
			return candidates[i]
		}
		x -= w
	}
	return candidates[len(candidates)-1]
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	for i := 1; i < len(s); i++ { // insertion sort: a handful of targets
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
