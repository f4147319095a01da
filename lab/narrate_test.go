package lab

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"stickylab/lb"
)

func TestEventLines(t *testing.T) {
	cases := []struct {
		name string
		e    lb.Event
		want string // empty: not news
	}{
		{"ordinary request", lb.Event{Kind: lb.EventRequest, Target: "app-1", Sticky: lb.DecisionStuck, Status: 200}, ""},
		{"new client", lb.Event{Kind: lb.EventRequest, Target: "app-1", Sticky: lb.DecisionNew, Status: 200}, ""},
		{"re-stuck after the health check", lb.Event{Kind: lb.EventRequest, Client: "c-1", Method: "GET", Path: "/", Target: "app-3", Sticky: lb.DecisionRestuck, Status: 200},
			"lb: client c-1 (GET /) re-stuck to app-3: its instance is unhealthy or gone"},
		{"re-stuck by passive failover", lb.Event{Kind: lb.EventRequest, Client: "c-1", Method: "GET", Path: "/", Target: "app-3", Sticky: lb.DecisionRestuck, Status: 200, Retries: 1},
			"lb: client c-1 (GET /) re-stuck to app-3: its instance refused the connection and passive failover retried at once"},
		{"retried without stickiness", lb.Event{Kind: lb.EventRequest, Client: "c-1", Method: "GET", Path: "/", Target: "app-2", Status: 200, Retries: 2},
			"lb: client c-1 (GET /) answered by app-2 after 2 passive failover retries"},
		{"502 like ALB", lb.Event{Kind: lb.EventRequest, Client: "c-1", Method: "GET", Path: "/", Target: "app-1", Sticky: lb.DecisionStuck, Status: 502},
			"lb: client c-1 (GET /) got 502 (its instance did not answer: ALB does the same until the health check notices, and for as long as no instance is healthy)"},
		{"unhealthy", lb.Event{Kind: lb.EventTarget, Target: "app-2", State: lb.StateUnhealthy, PrevState: lb.StateHealthy, Reason: "connection refused"},
			"lb: app-2 is unhealthy (connection refused): no new requests go to it"},
		{"healthy again", lb.Event{Kind: lb.EventTarget, Target: "app-2", State: lb.StateHealthy, PrevState: lb.StateUnhealthy},
			"lb: app-2 is healthy again"},
		{"draining", lb.Event{Kind: lb.EventTarget, Target: "app-2", State: lb.StateDraining, PrevState: lb.StateHealthy, Reason: "deregistered"},
			"lb: app-2 is draining, was healthy (deregistered)"},
		{"stickiness switched", lb.Event{Kind: lb.EventStickiness, State: "duration", Reason: "mode duration, duration 24h"},
			"lb: stickiness is now mode duration, duration 24h"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := eventLine(c.e); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestInstanceLines(t *testing.T) {
	cases := []struct {
		name string
		in   Instance
		want string
	}{
		{"killed, memory", Instance{Name: "app-2", PID: 42, State: StateKilled, Store: "memory"},
			"app-2 killed (pid 42, " + killCall + "): the sessions in its memory are gone"},
		{"killed, redis", Instance{Name: "app-2", PID: 42, State: StateKilled, Store: "redis"},
			"app-2 killed (pid 42, " + killCall + "): its sessions are safe in redis"},
		{"back, memory", Instance{Name: "app-2", PID: 43, Port: 9000, State: StateRunning, Store: "memory"},
			"app-2 is running again: pid 43 on port 9000, with an empty memory"},
		{"exited", Instance{Name: "app-2", PID: 42, State: StateExited, Exit: "exit status 1"},
			"app-2 exited (pid 42, exit status 1); it stays down until restarted"},
		{"starting is not news", Instance{Name: "app-2", State: StateStarting}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := instanceLine(c.in); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestNarratorSkipsStartUp(t *testing.T) {
	var out bytes.Buffer
	n := newNarrator(&out)
	n.instanceChanged(Instance{Name: "app-1", State: StateRunning}) // during start-up: not news
	events := make(chan lb.Event, 4)
	events <- lb.Event{Time: time.Now().Add(-time.Minute), Kind: lb.EventTarget, Target: "app-1", State: lb.StateHealthy, PrevState: lb.StateInitial}
	n.start()
	n.instanceChanged(Instance{Name: "app-1", PID: 7, State: StateKilled, Store: "memory"})
	events <- lb.Event{Time: time.Now(), Kind: lb.EventTarget, Target: "app-1", State: lb.StateUnhealthy, PrevState: lb.StateHealthy}
	close(events)
	// tell ends when the stream does; the instance change came first, but
	// the two channels race, so only the set of lines is checked.
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.tell(context.Background(), events)
	}()
	<-done
	for len(n.changes) > 0 { // tell may have left the change behind
		n.line(instanceLine(<-n.changes))
	}
	got := out.String()
	if strings.Contains(got, "initial") || strings.Contains(got, "running") {
		t.Errorf("start-up events were told:\n%s", got)
	}
	for _, want := range []string{"app-1 killed (pid 7", "lb: app-1 is unhealthy"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
