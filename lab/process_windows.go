package lab

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// childAttr starts an instance suspended, so that the spawner puts it in the
// fleet's job object (job_windows.go) before it runs a single instruction,
// and in its own process group, so that Ctrl-C in the console reaches the
// lab alone (a new group ignores Ctrl-C) and the lab stops the instances in
// order, each with a Ctrl-Break of its own (interrupt).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP}
}

// watchParent is false: the job object ends every instance when the lab
// ends, however it ends; and Windows does not give an orphan a new parent,
// so the instance could not tell anyway.
const watchParent = false
