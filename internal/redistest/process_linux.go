package redistest

import "syscall"

// serverAttr gives redis-server Pdeathsig=SIGKILL, so that it dies with the
// test binary even when that is killed before its cleanups run.
func serverAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
