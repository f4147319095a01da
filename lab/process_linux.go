package lab

import "syscall"

// childAttr gives an instance Pdeathsig=SIGKILL, so that it dies with the lab
// even when the lab is killed with SIGKILL (see spawner for why the forking
// thread matters), and its own process group, so that Ctrl-C reaches the lab
// alone and the lab stops the instances in order.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// watchParent is false: Pdeathsig already ends an orphaned instance.
const watchParent = false
