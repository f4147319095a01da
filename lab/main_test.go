package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stickylab is the real binary, built once by TestMain: the lab's tests are
// about real processes dying, so the instances are real "stickylab app"
// processes, never stand-ins.
var stickylab string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "stickylab-lab-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab test:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if stickylab, err = buildBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, "lab test:", err)
		return 1
	}
	return m.Run()
}

// buildBinary builds the module's main package into dir.
func buildBinary(dir string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "stickylab")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}
