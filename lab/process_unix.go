//go:build unix && !linux

package lab

import "syscall"

// childAttr gives an instance its own process group, so that Ctrl-C reaches
// the lab alone and the lab stops the instances in order. There is no
// Pdeathsig here (macOS, the BSDs); watchParent stands in for it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// watchParent is true: without Pdeathsig an instance would outlive a lab
// killed with SIGKILL, so the lab hands each one its PID (ParentPIDEnv) and
// the instance exits once it is orphaned: the system gives an orphan a new
// parent (launchd, init), which the instance sees within half a second.
const watchParent = true
