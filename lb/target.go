package lb

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
)

// state is a target's health and registration state, as ALB names them.
type state int32

const (
	stateInitial   state = iota // registered, waiting for its first passed health check
	stateHealthy                // passes health checks: receives traffic
	stateUnhealthy              // failed UnhealthyThreshold checks, or refused a connection (passive failover)
	stateDraining               // deregistered: no new requests, in-flight ones finish within the delay
	stateUnused                 // deregistered and drained: no traffic, no health checks
)

// Target states as ALB names them, the values of TargetStatus.State and of
// Event.State and Event.PrevState.
const (
	StateInitial   = "initial"
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy"
	StateDraining  = "draining"
	StateUnused    = "unused"
)

func (s state) String() string {
	switch s {
	case stateInitial:
		return StateInitial
	case stateHealthy:
		return StateHealthy
	case stateUnhealthy:
		return StateUnhealthy
	case stateDraining:
		return StateDraining
	case stateUnused:
		return StateUnused
	}
	return fmt.Sprintf("state(%d)", int32(s))
}

// registered reports whether a target in state s takes part in routing at
// all: it may be picked when healthy, or by fail-open.
func (s state) registered() bool {
	return s == stateInitial || s == stateHealthy || s == stateUnhealthy
}

// target is one backend and its live counters. Its atomics are read on the
// request path without locks; state changes go through pool.setState.
type target struct {
	index  int
	name   string
	url    *url.URL
	scheme string
	host   string // host:port as in the URL

	state    atomic.Int32  // a state
	inFlight atomic.Int64  // requests being proxied to it now
	requests atomic.Uint64 // requests routed to it since start

	// Health check streaks, guarded by pool.mu.
	passes, fails int
	// idle gets a token when the last in-flight request of a draining
	// target ends.
	idle chan struct{}
	// wake asks the health check loop for a check now (after a register).
	wake chan struct{}
	// drainGen invalidates a pending end-of-drain when the target is
	// registered again; guarded by pool.mu.
	drainGen int

	// anomaly follows t's failed answers for anomaly mitigation
	// (anomaly.go); used only when it is on.
	anomaly anomalyStats

	// slowSince is when t entered slow start (unix nanoseconds), 0 when
	// it is not in it (slowstart.go).
	slowSince atomic.Int64

	// cut ends the requests in flight when a drain's delay is over, under
	// a Router (deregcut.go).
	cut targetCut

	// failCode is ALB's reason code of the last failed health check or
	// passive failover verdict; nil until one.
	failCode atomic.Pointer[string]

	m targetMetrics

	// The engine's connections to the target and its reverse proxy
	// (engine.go).
	conns targetConns
	proxy proxyHandler
}

func (t *target) loadState() state { return state(t.state.Load()) }

// done ends one in-flight request and wakes a drain waiting for the last.
func (t *target) done() {
	if t.inFlight.Add(-1) == 0 && t.loadState() == stateDraining {
		select {
		case t.idle <- struct{}{}:
		default:
		}
	}
}

// TargetStatus is a target as GET /api/targets and Targets show it.
type TargetStatus struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	State    string `json:"state"` // StateInitial, StateHealthy, StateUnhealthy, StateDraining or StateUnused
	InFlight int64  `json:"in_flight"`
	Requests uint64 `json:"requests"`
	// ReasonCode is ALB's TargetHealth.Reason for a target that is not
	// healthy (Elb.InitialHealthChecking, Target.Timeout, …); empty when
	// healthy.
	ReasonCode string `json:"reason_code,omitempty"`
}

// ALB's target health reason codes (TargetHealth.Reason), the values of
// TargetStatus.ReasonCode.
const (
	ReasonInitialHealthChecking    = "Elb.InitialHealthChecking"
	ReasonTimeout                  = "Target.Timeout"
	ReasonResponseCodeMismatch     = "Target.ResponseCodeMismatch"
	ReasonFailedHealthChecks       = "Target.FailedHealthChecks"
	ReasonDeregistrationInProgress = "Target.DeregistrationInProgress"
	ReasonNotRegistered            = "Target.NotRegistered"
)

// reasonCode is ALB's reason code for t in state st.
func (t *target) reasonCode(st state) string {
	switch st {
	case stateInitial:
		return ReasonInitialHealthChecking
	case stateUnhealthy:
		if c := t.failCode.Load(); c != nil {
			return *c
		}
		return ReasonFailedHealthChecks
	case stateDraining:
		return ReasonDeregistrationInProgress
	case stateUnused:
		return ReasonNotRegistered
	}
	return ""
}

func (t *target) status() TargetStatus {
	st := t.loadState()
	return TargetStatus{
		Name:       t.name,
		URL:        t.url.String(),
		State:      st.String(),
		InFlight:   t.inFlight.Load(),
		Requests:   t.requests.Load(),
		ReasonCode: t.reasonCode(st),
	}
}

// ParseTargets parses the -targets syntax: comma-separated [name=]URL
// entries, e.g. "app-1=http://10.0.0.1:8080,http://10.0.0.2:8080". A name
// defaults to the URL's host:port. The result still goes through New's
// checks (scheme, no path, distinct names).
func ParseTargets(s string) ([]Target, error) {
	var out []Target
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, raw, named := strings.Cut(entry, "=")
		if !named || strings.Contains(name, "://") {
			name, raw = "", entry
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("target %q: want [name=]http://host:port", entry)
		}
		if name == "" {
			name = u.Host
		}
		t := Target{Name: name, URL: u}
		if err := validateTarget(t); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				err = fe.Err
			}
			return nil, fmt.Errorf("target %q: %w", entry, err)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no targets in %q: want [name=]http://host:port, comma-separated", s)
	}
	return out, nil
}
