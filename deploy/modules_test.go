package deploy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// deployOnlyModules are the modules that only deploy/'s tests use, to build
// the Kubernetes overlays and parse the Terraform. They are in go.mod (so
// that `go test ./deploy/...` runs those tests), and must stay out of the
// stickylab binary, the only thing deploy/Dockerfile's image holds.
var deployOnlyModules = []string{
	"sigs.k8s.io/kustomize/",
	"k8s.io/",
	"github.com/hashicorp/hcl/",
	"github.com/zclconf/go-cty",
}

// TestBinaryLeavesOutDeployModules lists the modules of the packages that
// make the stickylab binary, as the Go command resolves them for
// deploy/Dockerfile's `go build .`.
func TestBinaryLeavesOutDeployModules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "..").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	mods := strings.Fields(string(out))
	if len(mods) == 0 {
		t.Fatal("go list -deps: no module at all; want stickylab's own at least")
	}
	for _, m := range mods {
		for _, d := range deployOnlyModules {
			if strings.HasPrefix(m, d) {
				t.Errorf("the stickylab binary imports a package of %s, a module meant for deploy/'s tests only", m)
			}
		}
	}
}
