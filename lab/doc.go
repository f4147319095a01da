// Package lab runs the whole stickylab lesson on one machine: a fleet of app
// instances as real child processes of the stickylab binary (so that killing
// one really loses its memory), an embedded Redis, the in-process balancer of
// package lb, the demo that narrates what happens, and the experiment that
// measures it.
//
// Imports point one way: main → lab → lb. lab never imports app: it starts
// "stickylab app" as a separate process and talks to it over HTTP, exactly as
// a balancer in production would.
package lab
