//go:build unix

package lab

import (
	"os"
	"syscall"
)

// killCall is what Fleet.Kill does, as the story on the terminal names it.
const killCall = "SIGKILL"

// interrupt asks p to shut down: SIGTERM.
func interrupt(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// killed reports whether the process ended by SIGKILL, from the lab
// (Fleet.Kill) or from outside (kill -9): the wait status tells, whatever
// the lab sent (byLab).
func killed(ps *os.ProcessState, byLab bool) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
