package lab

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"stickylab/lb"
)

// narrator tells the demo's story on the terminal, one line per event that
// matters: an instance killed, exited or restarted, a target turning
// unhealthy or healthy, a client re-stuck to another target, a request
// retried or failed. Ordinary requests are not shown.
//
// Only the goroutine running tell writes to out; instance changes reach it
// through a channel, so lines never interleave.
type narrator struct {
	out     io.Writer
	changes chan Instance
	since   time.Time   // set by start, read by tell's goroutine only
	started atomic.Bool // instance changes before the banner are not news
}

func newNarrator(out io.Writer) *narrator {
	return &narrator{out: out, changes: make(chan Instance, 64)}
}

// instanceChanged is the fleet's OnChange hook; it never blocks.
func (n *narrator) instanceChanged(in Instance) {
	if !n.started.Load() {
		return
	}
	select {
	case n.changes <- in:
	default: // a burst of over 64 changes: the terminal can do without some
	}
}

// start marks the end of the start-up: from now on, events are news.
func (n *narrator) start() {
	n.since = time.Now()
	n.started.Store(true)
}

// tell prints events until ctx is done or the balancer's stream ends.
func (n *narrator) tell(ctx context.Context, events <-chan lb.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-n.changes:
			if s := instanceLine(in); s != "" {
				n.line(s)
			}
		case e, ok := <-events:
			if !ok {
				return
			}
			if e.Time.Before(n.since) {
				continue
			}
			if s := eventLine(e); s != "" {
				n.line(s)
			}
		}
	}
}

func (n *narrator) line(s string) {
	fmt.Fprintf(n.out, "%s  %s\n", time.Now().Format("15:04:05"), s)
}

// instanceLine describes an instance change; empty when it is not news.
func instanceLine(in Instance) string {
	switch in.State {
	case StateRunning:
		switch in.Store {
		case "redis":
			return fmt.Sprintf("%s is running again: pid %d on port %d, reading its sessions from redis", in.Name, in.PID, in.Port)
		case "cookie":
			return fmt.Sprintf("%s is running again: pid %d on port %d, reading sessions from the clients' cookies", in.Name, in.PID, in.Port)
		}
		return fmt.Sprintf("%s is running again: pid %d on port %d, with an empty memory", in.Name, in.PID, in.Port)
	case StateKilled:
		switch in.Store {
		case "redis":
			return fmt.Sprintf("%s killed (pid %d, %s): its sessions are safe in redis", in.Name, in.PID, killCall)
		case "cookie":
			return fmt.Sprintf("%s killed (pid %d, %s): it held no session; they are in the clients' cookies", in.Name, in.PID, killCall)
		}
		return fmt.Sprintf("%s killed (pid %d, %s): the sessions in its memory are gone", in.Name, in.PID, killCall)
	case StateExited:
		return fmt.Sprintf("%s exited (pid %d, %s); it stays down until restarted", in.Name, in.PID, in.Exit)
	case StateStopped:
		return fmt.Sprintf("%s stopped (pid %d) to be restarted", in.Name, in.PID)
	}
	return ""
}

// eventLine describes a balancer event; empty when it is not news.
func eventLine(e lb.Event) string {
	switch e.Kind {
	case lb.EventTarget:
		return targetLine(e)
	case lb.EventStickiness:
		return "lb: stickiness is now " + e.Reason
	case lb.EventRequest:
		return requestLine(e)
	case lb.EventRule:
		return "lb: " + e.Reason
	}
	return ""
}

func targetLine(e lb.Event) string {
	why := ""
	if e.Reason != "" {
		why = " (" + e.Reason + ")"
	}
	if e.TargetGroup != "" {
		// A target registered in several groups changes in each.
		e.Target += " in group " + e.TargetGroup
	}
	switch {
	case e.State == lb.StateUnhealthy:
		return fmt.Sprintf("lb: %s is unhealthy%s: no new requests go to it", e.Target, why)
	case e.State == lb.StateHealthy && e.PrevState == lb.StateUnhealthy:
		return fmt.Sprintf("lb: %s is healthy again%s", e.Target, why)
	}
	return fmt.Sprintf("lb: %s is %s, was %s%s", e.Target, e.State, e.PrevState, why)
}

func requestLine(e lb.Event) string {
	var what string
	switch {
	case e.Sticky == lb.DecisionRestuck && e.Retries > 0:
		what = fmt.Sprintf("re-stuck to %s: its instance refused the connection and passive failover retried at once", e.Target)
	case e.Sticky == lb.DecisionRestuck:
		what = fmt.Sprintf("re-stuck to %s: its instance is unhealthy or gone", e.Target)
	case e.Retries > 0:
		what = fmt.Sprintf("answered by %s after %d passive failover %s", e.Target, e.Retries, plural(e.Retries, "retry", "retries"))
	}
	if e.Status >= 500 {
		if what != "" {
			what += "; "
		}
		what += fmt.Sprintf("got %d %s", e.Status, statusWhy(e.Status))
	}
	if what == "" {
		return ""
	}
	return fmt.Sprintf("lb: client %s (%s %s) %s", e.Client, e.Method, e.Path, what)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func statusWhy(status int) string {
	switch status {
	case 502:
		return "(its instance did not answer: ALB does the same until the health check notices, and for as long as no instance is healthy)"
	case 503:
		return "(no instance to send it to, or the session store is down)"
	case 504:
		return "(its instance answered too late)"
	}
	return ""
}
