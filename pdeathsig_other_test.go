//go:build !linux

package main

import "syscall"

// dieWithTest is empty: there is no Pdeathsig here, so only the test's
// cleanup ends the child.
func dieWithTest() *syscall.SysProcAttr { return nil }
