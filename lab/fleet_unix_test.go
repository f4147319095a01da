//go:build unix

package lab

import (
	"syscall"
	"testing"
	"time"
)

func TestFleetKillFromOutside(t *testing.T) {
	changed := make(chan Instance, 4)
	f := testFleet(t, FleetConfig{Instances: 1, OnChange: func(i Instance) { changed <- i }})
	<-changed // running
	pid := f.Instances()[0].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-changed:
		if in.State != StateKilled || in.PID != pid {
			t.Errorf("after kill -9 %d: got %s pid %d, want killed", pid, in.State, in.PID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported 10s after kill -9")
	}
}
