package lab

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// killCall is what Fleet.Kill does, as the story on the terminal names it.
const killCall = "TerminateProcess"

// interrupt asks p to shut down: a Ctrl-Break to its process group (each
// instance has its own, see childAttr), which a Go program receives as
// os.Interrupt. It fails when the lab has no console to send it through;
// the caller then kills p.
func interrupt(p *os.Process) error {
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid)); err != nil {
		return fmt.Errorf("ctrl-break to %d: %w", p.Pid, err)
	}
	return nil
}

// killed reports whether the lab killed the process (byLab): Windows has no
// signals, and a process ended by TerminateProcess cannot be told from one
// that exited with the same code. So an instance ended by Fleet.Kill is
// killed, one ended from outside (the Task Manager, taskkill /f) exited.
func killed(_ *os.ProcessState, byLab bool) bool { return byLab }
