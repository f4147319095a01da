//go:build unix

package lab

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOrphanedInstanceExits runs, on Linux too, the fallback that stands in
// for Pdeathsig on macOS and the BSDs (process_unix.go): an instance given
// its parent's PID in ParentPIDEnv serves while that parent lives, and exits
// by itself once the parent is killed with SIGKILL. The parent is a shell
// that starts the instance and waits; nothing gives the instance a Pdeathsig.
func TestOrphanedInstanceExits(t *testing.T) {
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	sh := exec.Command("sh", "-c", ParentPIDEnv+`=$$ "$0" app -listen "$1" >/dev/null 2>&1 & echo $!; wait`,
		stickylab, "127.0.0.1:"+strconv.Itoa(ports[0]))
	sh.SysProcAttr = dieWithTest()
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Process.Kill(); sh.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the instance's PID: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("instance PID %q: %v", line, err)
	}
	// Should the test fail, the instance does not outlive it.
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })

	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(25 * time.Millisecond) {
		if _, err := servedBy(t, url); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("instance at %s not serving 10s after it started: %v", url, err)
		}
	}
	if err := sh.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sh.Wait()
	awaitGone(t, 10*time.Second, pid)
}
