package lab

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// processGone reports whether pid has ended: it cannot be opened, or it has
// an exit code.
func processGone(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return true
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	const stillActive = 259 // STILL_ACTIVE
	return code != stillActive
}

// childrenOf returns the running processes whose parent is pid, from a
// snapshot of the system's processes. Windows does not give an orphan a new
// parent: a child that outlives pid is listed all the same.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		t.Fatalf("process snapshot: %v", err)
	}
	defer windows.CloseHandle(snap)
	pe := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	var children []int
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		if int(pe.ParentProcessID) == pid && !processGone(int(pe.ProcessID)) {
			children = append(children, int(pe.ProcessID))
		}
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		t.Fatalf("process snapshot: %v", err)
	}
	return children
}
