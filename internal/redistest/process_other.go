//go:build !linux

package redistest

import "syscall"

// serverAttr is empty: there is no Pdeathsig here, so only the test's
// cleanup (Kill) ends redis-server.
func serverAttr() *syscall.SysProcAttr { return nil }
