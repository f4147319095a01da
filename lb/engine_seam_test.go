package lb

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEngineSeam: the balancer proper reaches the system and the fast
// engine only through its seam. Of lb's own files, only engine.go imports
// the fast engine (lb/internal/h1); none imports syscall (the system's error
// codes are read by lb/internal/neterr), golang.org/x/sys or unsafe.
func TestEngineSeam(t *testing.T) {
	allowed := map[string]string{
		"stickylab/lb/internal/h1": "engine.go",
		"syscall":                  "",
		"golang.org/x/sys/unix":    "",
		"golang.org/x/sys/windows": "",
		"unsafe":                   "",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			only, watched := allowed[path]
			if watched && name != only || strings.HasPrefix(path, "golang.org/x/sys") {
				t.Errorf("%s imports %s: only the seam may (%q)", name, path, only)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d files, want lb's (run in its directory)", checked)
	}
}
