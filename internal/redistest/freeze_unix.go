//go:build unix

package redistest

import (
	"os"
	"syscall"
)

// freeze stops p with SIGSTOP: its connections stay open but nothing
// answers.
func freeze(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }

// thaw resumes a process stopped by freeze.
func thaw(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
