//go:build unix && !linux

package lab

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// processGone reports whether pid has ended: kill(pid, 0) finds no such
// process. A zombie counts as alive here, for a moment: its new parent
// (launchd) reaps it at once.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// childrenOf returns the processes whose parent is pid, zombies excluded,
// as ps lists them (there is no /proc).
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	out, err := exec.Command("ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "stat=").Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	var children []int
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(f[2], "Z") || f[1] != strconv.Itoa(pid) {
			continue
		}
		child, _ := strconv.Atoi(f[0])
		children = append(children, child)
	}
	return children
}
