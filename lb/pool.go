package lb

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// pool holds the targets. The request path reads an immutable snapshot
// through an atomic pointer and never locks; state changes, which are rare,
// take mu, store the target's new state and publish a new snapshot.
type pool struct {
	all  []*target // fixed at New, in Config order
	snap atomic.Pointer[snapshot]

	mu sync.Mutex // serialises state changes and guards target.passes, fails and drainGen

	onChange func(t *target, from, to state, reason string) // called with mu held

	// When the pool fails open (ALB's unhealthy_state_routing): fewer
	// healthy targets than minHealthy, or than minHealthyPct percent of
	// the registered ones (0: not by percentage). Fixed at New.
	minHealthy, minHealthyPct int

	// slowStart is Config.SlowStart (slowstart.go), now the clock of its
	// ramps (tests set it before Serve). Fixed at New.
	slowStart time.Duration
	now       func() time.Time
}

// snapshot is the routing view of the pool at one moment. It is never
// modified after it is published.
type snapshot struct {
	byName     map[string]*target // every target, whatever its state
	candidates []*target          // where the algorithm picks: the healthy targets, or on fail-open every registered one
	failOpen   bool               // too few targets are healthy (by default none): route to all registered ones, as ALB does
}

func newPool(targets []*target, onChange func(t *target, from, to state, reason string), minHealthy, minHealthyPct int) *pool {
	p := &pool{all: targets, onChange: onChange, minHealthy: max(minHealthy, 1), minHealthyPct: minHealthyPct, now: time.Now}
	p.publish()
	return p
}

func (p *pool) load() *snapshot { return p.snap.Load() }

// publish builds and stores a snapshot from the targets' states; it is
// called at New and with mu held.
func (p *pool) publish() {
	s := &snapshot{byName: make(map[string]*target, len(p.all))}
	var registered []*target
	for _, t := range p.all {
		s.byName[t.name] = t
		st := t.loadState()
		if st == stateHealthy {
			s.candidates = append(s.candidates, t)
		}
		if st.registered() {
			registered = append(registered, t)
		}
	}
	healthy := len(s.candidates)
	if healthy < p.minHealthy || healthy*100 < p.minHealthyPct*len(registered) {
		s.failOpen = true
		s.candidates = registered
	}
	p.snap.Store(s)
}

// usable reports whether a sticky request may stay on t.
func (s *snapshot) usable(t *target) bool {
	st := t.loadState()
	return st == stateHealthy || (s.failOpen && st.registered())
}

// intern returns the target name equal to b, or "" when no target has it.
func (s *snapshot) intern(b []byte) string {
	if t := s.byName[string(b)]; t != nil {
		return t.name
	}
	return ""
}

// setState moves t to state to and publishes the change. It does nothing
// when t is already there. Callers hold mu.
func (p *pool) setState(t *target, to state, reason string) {
	from := t.loadState()
	if from == to {
		return
	}
	t.state.Store(int32(to))
	t.passes, t.fails = 0, 0
	p.enterSlowStart(t, to, p.now())
	p.publish()
	if p.onChange != nil {
		p.onChange(t, from, to, reason)
	}
}

// observe records one health check result for t and applies ALB's
// thresholds: initial needs one pass; unhealthy needs healthy passes in a
// row; initial and healthy need unhealthy failures in a row.
func (p *pool) observe(t *target, ok bool, reason string, healthy, unhealthy int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := t.loadState()
	if !st.registered() {
		return
	}
	if ok {
		t.fails = 0
		t.passes++
		if st == stateInitial || (st == stateUnhealthy && t.passes >= healthy) {
			p.setState(t, stateHealthy, reason)
		}
		return
	}
	t.passes = 0
	t.fails++
	if st != stateUnhealthy && t.fails >= unhealthy {
		p.setState(t, stateUnhealthy, reason)
	}
}

// markUnhealthy is passive failover's verdict: t refused a connection.
func (p *pool) markUnhealthy(t *target, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.loadState().registered() {
		code := ReasonFailedHealthChecks
		t.failCode.Store(&code)
		p.setState(t, stateUnhealthy, reason)
	}
}

// drain deregisters t: no new requests at once, sticky ones included. It
// becomes unused when its last in-flight request ends or after delay,
// whichever comes first (ALB completes a deregistration early when nothing
// is in flight), unless it is registered again meanwhile. Requests still in
// flight after the delay are left to finish, or cut when cut is true.
// drain reports false when t was
// already draining or unused. The waiting goroutine ends at the latest with
// the delay or when stop is closed.
func (p *pool) drain(t *target, delay time.Duration, stop <-chan struct{}, cut bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !t.loadState().registered() {
		return false
	}
	t.drainGen++
	gen := t.drainGen
	p.setState(t, stateDraining, "deregistered")
	finish := func(reason string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if t.drainGen == gen && t.loadState() == stateDraining {
			p.setState(t, stateUnused, reason)
		}
	}
	go func() {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		for t.inFlight.Load() > 0 {
			select {
			case <-timer.C:
				if cut {
					// ALB cuts what is still in flight: the clients
					// get 502 (deregcut.go).
					n := t.inFlight.Load()
					t.cut.cutNow()
					finish(fmt.Sprintf("deregistration delay over: %d in-flight %s cut with 502, as ALB does", n, plural(n, "request", "requests")))
					return
				}
				finish("deregistration delay over")
				return
			case <-t.idle:
			case <-stop:
				return
			}
		}
		finish("no request in flight")
	}()
	return true
}

// register brings a draining or unused target back: it starts again as
// initial and must pass a health check, as a newly registered ALB target.
// It reports false when t is already registered.
func (p *pool) register(t *target) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.loadState().registered() {
		return false
	}
	t.drainGen++
	p.setState(t, stateInitial, "registered")
	return true
}

// plural is one when n is 1, else many.
func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
