package lab

import "syscall"

// dieWithTest makes a child die with the test binary, even one killed before
// its cleanups run.
func dieWithTest() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
