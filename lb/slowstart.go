package lb

import "time"

// Slow start (ALB's slow_start.duration_seconds): a target that becomes
// healthy while another healthy target is not in slow start gets a share
// of new requests that rises linearly from nothing to its full share over
// Config.SlowStart. It leaves slow start when the duration is over or it
// stops being healthy. While any candidate ramps, the algorithm's pick is
// replaced by a weighted random one (weight 1, or the ramp's fraction);
// sticky clients are not affected, as on ALB.

// minSlowWeight keeps a target that has just entered slow start pickable
// at all, and the weights' sum above 0 when every candidate ramps.
const minSlowWeight = 1e-3

// enterSlowStart starts t's ramp when it has just become healthy and
// another healthy target is not in slow start; it stops any ramp when t
// is no longer healthy. Called with p.mu held.
func (p *pool) enterSlowStart(t *target, to state, now time.Time) {
	if p.slowStart <= 0 {
		return
	}
	if to != stateHealthy {
		t.slowSince.Store(0)
		return
	}
	for _, o := range p.all {
		if o != t && o.loadState() == stateHealthy && !p.inSlowStart(o, now) {
			t.slowSince.Store(now.UnixNano())
			return
		}
	}
}

// slowWeight is t's weight now: the ramp's fraction while it is in slow
// start, else 1.
func (p *pool) slowWeight(t *target, now time.Time) float64 {
	since := t.slowSince.Load()
	if since == 0 {
		return 1
	}
	f := float64(now.UnixNano()-since) / float64(p.slowStart)
	if f >= 1 {
		return 1
	}
	return max(f, minSlowWeight)
}

func (p *pool) inSlowStart(t *target, now time.Time) bool { return p.slowWeight(t, now) < 1 }

// pick returns the target of a request that stickiness does not bind: the
// algorithm's choice, or while a candidate is in slow start, a weighted
// random one, or with anomaly mitigation, anomaly.go's.
func (b *Balancer) pick(candidates []*target) *target {
	p := b.pool
	if b.cfg.AnomalyMitigation {
		return pickMitigated(candidates, time.Now())
	}
	if p.slowStart <= 0 {
		return b.sel.pick(candidates)
	}
	now := p.now()
	var weights [16]float64
	w := weights[:0]
	total, ramping := 0.0, false
	for _, t := range candidates {
		x := p.slowWeight(t, now)
		ramping = ramping || x < 1
		w = append(w, x)
		total += x
	}
	if !ramping {
		return b.sel.pick(candidates)
	}
	return pickWeighted(candidates, w, total)
}
