package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stickylab/internal/testenv"
)

// Bounds of the waits. They are generous because the machine may be busy;
// they only decide how long a broken lab takes to be reported, never a result.
const (
	buildTimeout   = 10 * time.Minute // cold: the Go toolchain compiles every module
	upTimeout      = 3 * time.Minute  // up -d and every health check passing
	commandTimeout = 2 * time.Minute  // kill, restart, exec, down
	recoverTimeout = time.Minute      // the lab answering again after a kill or restart
)

// The services of docker-compose.yml that the test expects: those of the
// stickylab image, the store's, and those the ha profile adds.
var (
	stickylabServices = []string{"app1", "app2", "app3", "lb", "lb2"}
	storeServices     = []string{"redis", "sentinel1"}
	haServices        = []string{"redis-replica", "sentinel2", "sentinel3"}
)

// services are the services that run with the current profile.
func (s *stack) services() []string {
	all := slices.Concat(storeServices, stickylabServices)
	if s.profile == "ha" {
		all = append(all, haServices...)
	}
	return all
}

// optIn is the environment variable that runs the Docker tests on a
// developer's machine: they build an image and start containers for
// minutes, so "go test ./..." runs them only when asked, by optIn=1 or by
// STICKYLAB_REQUIRE naming docker (as scripts/ci.sh does).
const optIn = "STICKYLAB_DOCKER"

// imageLabel is the label deploy/Dockerfile puts on every image of both its
// stages: the images this test may have made, and no others.
const imageLabel = "org.stickylab.image"

// stack is the repository's docker-compose.yml, unchanged, run under a
// project name of its own with free host ports and an image tag of its own,
// so that it never meets a lab the user runs (project "main", ports 8080 and
// 8081, image stickylab:local) or another test run.
type stack struct {
	root     string   // the repository: docker-compose.yml, deploy/Dockerfile
	tool     []string // "docker compose" or "docker-compose"
	project  string
	image    string // the stickylab image of this run
	override string // the compose file that gives every service image
	lbPort   int
	dashPort int
	lb2Port  int      // lb2, the second balancer node
	env      []string // STORE, STICKY and COMPOSE_PROFILES of the current up
	profile  string   // the compose profile of the current up: "" or "ha"
	made     []string // IDs of the images this run's build made, newest first
}

// newStack finds a Docker engine and a compose tool (or ends the test through
// testenv.Missing), makes the public images available without a registry,
// builds the stickylab image from the current source under a tag of this
// run, and registers a cleanup that takes the project down with its volumes
// and removes the images the build made, whatever happened. It skips the
// test unless optIn or STICKYLAB_REQUIRE asks for it.
func newStack(t *testing.T) *stack {
	t.Helper()
	if os.Getenv(optIn) != "1" && !testenv.Required("docker") {
		t.Skipf("builds an image and runs containers for minutes: set %s=1 (or STICKYLAB_REQUIRE=docker, as scripts/ci.sh does) to run it", optIn)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Missing(t, "docker", "no docker command (Debian: apt-get install docker.io docker-compose)")
	}
	if out, err := run(t, "", nil, 30*time.Second, "docker", "info"); err != nil {
		testenv.Missing(t, "docker", "no Docker engine answers: "+lastLine(out))
	}
	tool := composeTool(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	id := "e2e-" + randomHex(4)
	s := &stack{
		root:     root,
		tool:     tool,
		project:  "stickylab-" + id,
		image:    "stickylab:" + id,
		override: filepath.Join(t.TempDir(), "image.yml"),
		lbPort:   freePort(t),
		dashPort: freePort(t),
		lb2Port:  freePort(t),
	}
	t.Logf("compose tool %q, project %s, image %s, balancer on 127.0.0.1:%d, dashboard on 127.0.0.1:%d",
		strings.Join(tool, " "), s.project, s.image, s.lbPort, s.dashPort)
	// The override gives each service of the stickylab image this run's
	// tag, so that the build never moves the user's stickylab:local.
	var override strings.Builder
	override.WriteString("services:\n")
	for _, svc := range stickylabServices {
		fmt.Fprintf(&override, "  %s:\n    image: %s\n", svc, s.image)
	}
	if err := os.WriteFile(s.override, []byte(override.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.down(t)
		s.removeImages(t)
	})

	// The public images the files name are pulled when missing, as compose
	// would; only where no registry answers (an air-gapped machine, this
	// project's CI) does the script make local stand-ins, leaving alone
	// every image already present but a stand-in made for another go.sum.
	if missing := s.pullMissing(t); len(missing) > 0 || s.hasStandIns(t) {
		t.Logf("cannot pull %s, or stand-ins present: making or refreshing local stand-ins", strings.Join(missing, ", "))
		if out, err := run(t, root, nil, buildTimeout, "bash", "scripts/offline-images.sh"); err != nil {
			t.Fatalf("scripts/offline-images.sh: %v\n%s", err, out)
		} else {
			t.Logf("scripts/offline-images.sh:\n%s", out)
		}
	}
	// One service builds the image every stickylab service runs.
	before := s.imageIDs(t)
	out, err := s.compose(t, buildTimeout, "build", "app1")
	s.made = s.newImages(t, before)
	if err != nil {
		t.Fatalf("build the stickylab image: %v\n%s", err, tail(out, 40))
	}
	return s
}

// imageIDs returns the IDs of every image on the machine, intermediate ones
// included, and ends the test if it cannot.
func (s *stack) imageIDs(t *testing.T, filter ...string) map[string]bool {
	t.Helper()
	args := []string{"images", "--all", "--quiet", "--no-trunc"}
	for _, f := range filter {
		args = append(args, "--filter", f)
	}
	out, err := run(t, "", nil, commandTimeout, "docker", args...)
	if err != nil {
		t.Fatalf("docker images: %v\n%s", err, tail(out, 20))
	}
	ids := map[string]bool{}
	for _, id := range strings.Fields(out) {
		ids[id] = true
	}
	return ids
}

// newImages returns the images with deploy/Dockerfile's label that are not
// in before: the ones this run's build made (both stages: the legacy
// builder keeps the build stage's layers as untagged images of about half a
// gigabyte), newest first, so that each goes before its parent.
func (s *stack) newImages(t *testing.T, before map[string]bool) []string {
	t.Helper()
	type image struct{ id, created string }
	var made []image
	for id := range s.imageIDs(t, "label="+imageLabel) {
		if before[id] {
			continue
		}
		out, err := run(t, "", nil, commandTimeout, "docker", "image", "inspect", "--format", "{{.Created}}", id)
		if err != nil {
			t.Fatalf("docker image inspect %s: %v\n%s", id, err, tail(out, 5))
		}
		made = append(made, image{id, strings.TrimSpace(out)})
	}
	slices.SortFunc(made, func(a, b image) int { return strings.Compare(b.created, a.created) })
	ids := make([]string, len(made))
	for i, m := range made {
		ids[i] = m.id
	}
	return ids
}

// removeImages removes this run's tag and the images its build made. An
// image the build took from the cache of an earlier build is not its own:
// it stays, and so does this run's tag on it when that is its only one
// (removing the tag would remove the image). No prune, no other tag.
func (s *stack) removeImages(t *testing.T) {
	out, err := run(t, "", nil, commandTimeout, "docker", "image", "inspect", "--format", "{{.Id}} {{len .RepoTags}}", s.image)
	if f := strings.Fields(out); err == nil && len(f) == 2 && !slices.Contains(s.made, f[0]) {
		if f[1] == "1" {
			t.Logf("%s names an image built before this run: left as it is (docker rmi %s removes both)", s.image, s.image)
		} else if out, err := run(t, "", nil, commandTimeout, "docker", "rmi", s.image); err != nil {
			t.Errorf("docker rmi %s: %v\n%s", s.image, err, tail(out, 5))
		}
	}
	for _, id := range s.made {
		// --no-prune: a parent goes only if this run made it, in its own
		// turn (s.made is newest first).
		if out, err := run(t, "", nil, commandTimeout, "docker", "rmi", "--no-prune", id); err != nil {
			t.Errorf("docker rmi %s: %v\n%s", id, err, tail(out, 5))
		}
	}
	if len(s.made) > 0 {
		t.Logf("removed the %d images this run built (%s and its build stage)", len(s.made), s.image)
	}
}

// composeTool returns the command that runs Compose: the v2 plugin when the
// docker command has it, else the v1 docker-compose.
func composeTool(t *testing.T) []string {
	t.Helper()
	if _, err := run(t, "", nil, 30*time.Second, "docker", "compose", "version"); err == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	testenv.Missing(t, "docker", "neither 'docker compose' nor 'docker-compose' is installed")
	return nil
}

// up starts the lab with the given modes (and profile, "" for none) and
// waits until it is usable: every container healthy and the balancer seeing
// every instance healthy. The lab is taken down, volumes included, when t
// ends.
func (s *stack) up(t *testing.T, store, sticky string) { s.upProfile(t, "", store, sticky) }

func (s *stack) upProfile(t *testing.T, profile, store, sticky string) {
	t.Helper()
	s.profile = profile
	// COMPOSE_PROFILES, not --profile: every later command (kill, exec,
	// down) then sees the profile's services too.
	s.env = []string{"STORE=" + store, "STICKY=" + sticky, "COMPOSE_PROFILES=" + profile}
	t.Cleanup(func() {
		if t.Failed() {
			s.logTail(t)
		}
		s.down(t)
	})
	if out, err := s.compose(t, upTimeout, "up", "-d", "--no-build"); err != nil {
		t.Fatalf("up -d with STORE=%s STICKY=%s: %v\n%s", store, sticky, err, tail(out, 40))
	}
	var state string
	ok := poll(t, upTimeout, func() bool {
		state = s.health(t)
		if state != "" {
			return false
		}
		state = s.targetsHealthy(t)
		return state == ""
	})
	if !ok {
		t.Fatalf("lab with STORE=%s STICKY=%s not usable within %v: %s", store, sticky, upTimeout, state)
	}
}

// health returns "" when every service's container is healthy, else what is
// not.
func (s *stack) health(t *testing.T) string {
	out, err := s.compose(t, commandTimeout, "ps", "-q")
	if err != nil {
		return fmt.Sprintf("compose ps: %v", err)
	}
	ids := strings.Fields(out)
	if want := s.services(); len(ids) != len(want) {
		return fmt.Sprintf("%d containers, want %d (%s)", len(ids), len(want), strings.Join(want, ", "))
	}
	args := append([]string{"inspect", "--format",
		"{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}"}, ids...)
	out, err = run(t, "", nil, commandTimeout, "docker", args...)
	if err != nil {
		return fmt.Sprintf("docker inspect: %v", err)
	}
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasSuffix(line, " healthy") {
			bad = append(bad, line)
		}
	}
	if len(bad) > 0 {
		return "containers not healthy yet: " + strings.Join(bad, "; ")
	}
	return ""
}

// targetsHealthy returns "" when the balancer's admin API, on the published
// dashboard port, shows every target healthy, else what it shows.
func (s *stack) targetsHealthy(t *testing.T) string {
	var body struct {
		Targets []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"targets"`
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/api/targets", s.dashPort)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Sprintf("GET %s: %s: %v", url, resp.Status, err)
	}
	var states []string
	healthy := 0
	for _, tg := range body.Targets {
		states = append(states, tg.Name+"="+tg.State)
		if tg.State == "healthy" {
			healthy++
		}
	}
	if healthy != 3 || len(body.Targets) != 3 {
		return "balancer targets: " + strings.Join(states, " ")
	}
	return ""
}

// down removes the project's containers, network and volumes. It is safe to
// call when nothing runs.
func (s *stack) down(t *testing.T) {
	if out, err := s.compose(t, commandTimeout, "down", "-v", "--remove-orphans", "--timeout", "5"); err != nil {
		t.Errorf("down -v: %v\n%s", err, tail(out, 20))
	}
}

// must runs a compose command and ends the test, with the logs, if it fails.
func (s *stack) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := s.compose(t, commandTimeout, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, tail(out, 20))
	}
	return out
}

// logTail logs the last lines of every service's log, for a failure report.
func (s *stack) logTail(t *testing.T) {
	out, _ := s.compose(t, commandTimeout, "logs", "--no-color", "--tail", "30")
	t.Logf("compose logs (last 30 lines of each service):\n%s", out)
	out, _ = s.compose(t, commandTimeout, "ps")
	t.Logf("compose ps:\n%s", out)
}

// compose runs the compose tool on the repository's docker-compose.yml.
func (s *stack) compose(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	full := append(append(s.tool[1:len(s.tool):len(s.tool)],
		"-f", filepath.Join(s.root, "docker-compose.yml"), "-f", s.override, "-p", s.project), args...)
	env := append([]string{
		"LB_PORT=" + strconv.Itoa(s.lbPort),
		"DASHBOARD_PORT=" + strconv.Itoa(s.dashPort),
		"LB2_PORT=" + strconv.Itoa(s.lb2Port), // the second balancer node (lb2)
	}, s.env...)
	return run(t, s.root, env, timeout, s.tool[0], full...)
}

// run runs a command with the process environment plus env, bounded by
// timeout, and returns its combined output. Its context is not the test's,
// which ends before the cleanups that take the lab down run.
func run(t *testing.T, dir string, env []string, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s: no end within %v: %w", name, strings.Join(args, " "), timeout, ctx.Err())
	}
	return out.String(), err
}

// poll calls done until it reports true or timeout passes, and returns
// whether it did.
func poll(t *testing.T, timeout time.Duration, done func() bool) bool {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		if done() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// freePort returns a loopback port that was free a moment ago, never one of
// docker-compose.yml's defaults (8080, 8081): the test is also that the lab
// works on other ports.
func freePort(t *testing.T) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port != 8080 && port != 8081 {
			return port
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func lastLine(s string) string { return tail(s, 1) }

// hasStandIns reports whether an image that scripts/offline-images.sh made
// is present: the script then runs again, and makes again a Go stand-in
// whose modules are not those of go.sum any more.
func (s *stack) hasStandIns(t *testing.T) bool {
	t.Helper()
	out, err := run(t, "", nil, 30*time.Second, "docker", "images", "--filter", "label=org.stickylab.standin", "--quiet")
	return err == nil && strings.TrimSpace(out) != ""
}

// pullMissing pulls the public images that deploy/Dockerfile and
// docker-compose.yml name and this machine lacks, and returns those it
// could not pull.
func (s *stack) pullMissing(t *testing.T) []string {
	t.Helper()
	var images []string
	for file, re := range map[string]*regexp.Regexp{
		"deploy/Dockerfile":  regexp.MustCompile(`(?mi)^FROM\s+(\S+)`),
		"docker-compose.yml": regexp.MustCompile(`(?m)^\s+image:\s+(\S+)`),
	} {
		data, err := os.ReadFile(filepath.Join(s.root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			if img := m[1]; img != "scratch" && !strings.HasPrefix(img, "stickylab:") && !slices.Contains(images, img) {
				images = append(images, img)
			}
		}
	}
	if len(images) < 2 {
		t.Fatalf("found images %v in deploy/Dockerfile and docker-compose.yml, want the Go builder and Redis", images)
	}
	var missing []string
	for _, img := range images {
		if _, err := run(t, "", nil, 30*time.Second, "docker", "image", "inspect", img); err == nil {
			continue
		}
		if out, err := run(t, "", nil, buildTimeout, "docker", "pull", img); err != nil {
			t.Logf("docker pull %s: %v: %s", img, err, lastLine(out))
			missing = append(missing, img)
		}
	}
	return missing
}
