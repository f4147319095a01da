//go:build unix

package lab

import (
	"syscall"
	"testing"
	"time"
)

func TestDemoStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			d := startDemo(t)

			// The story as it happens: one line per event.
			d.post(t, "/api/instances/app-1/kill")
			d.await(t, "app-1 killed", nil)
			d.await(t, "lb: app-1 is unhealthy", nil)
			d.post(t, "/api/instances/app-1/restart")
			d.await(t, "app-1 is running again", nil)
			d.await(t, "lb: app-1 is healthy again", nil)

			children := childrenOf(t, d.cmd.Process.Pid)
			if len(children) != 2 {
				t.Fatalf("demo has children %v, want its 2 instances", children)
			}
			if err := d.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			d.await(t, "stopped", nil)
			select {
			case <-d.exited:
				if d.waitErr != nil {
					t.Errorf("demo after %v: %v, want exit status 0", sig, d.waitErr)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("demo still running 20s after %v", sig)
			}
			// The demo reaps its instances before it exits.
			for _, pid := range children {
				if !processGone(pid) {
					t.Errorf("instance pid %d still alive after the demo exited", pid)
				}
			}
		})
	}
}
