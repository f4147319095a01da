package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"stickylab/internal/testenv"
)

// TestReadmeTutorial runs the commands of the README's tutorial as a reader
// would type them, in order, against the real binary: each "go run . FLAGS"
// line (re)starts the demo with those flags, on free ports instead of 8080
// and 8081, and every other command runs in a shell. A command must exit 0,
// and a JSON answer shown under a block must match what the block's last
// command printed (the serving instance and the visit count aside, which
// vary from run to run). The instance a reader is told to kill ("use
// yours") is the one that served them. What the steps on the ready setups
// (-setup blog-paths, blue-green) claim about instances is checked by
// setupSteps.
func TestReadmeTutorial(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Missing(t, "curl", "the tutorial's commands are curl commands (apt-get install curl)")
	}
	blocks := tutorialBlocks(t)
	bin := buildStickylab(t)
	work := t.TempDir()
	var d *demoProc
	defer func() { d.stop(t) }()
	instance := ""     // the instance named by the last JSON answer
	var lastOut string // what the last command printed
	checks := 0
	sticky := true // until the tutorial switches stickiness off
	var setups setupSteps
	for i, b := range blocks {
		switch b.lang {
		case "json":
			if i == 0 || blocks[i-1].lang != "sh" {
				continue
			}
			compareJSON(t, blocks[i-1].text, lastOut, b.text)
			checks++
			continue
		case "sh":
		default:
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(b.text), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if args, ok := strings.CutPrefix(line, "go run ."); ok {
				fields := strings.Fields(args)
				if len(fields) > 0 && fields[0] == "experiment" {
					continue // asserted by lab/lesson_test.go, and too slow here
				}
				d.stop(t)
				d = startDemo(t, bin, fields)
				setups.start(fields)
				sticky = true // a new demo starts sticky
				continue
			}
			if d == nil {
				t.Fatalf("README command %q comes before any go run .", line)
			}
			cmd := strings.NewReplacer(
				"127.0.0.1:8080", d.listen,
				"127.0.0.1:8081", d.admin,
				"/api/instances/app-2/", "/api/instances/"+instance+"/",
			).Replace(line)
			out := shell(t, work, cmd)
			lastOut = out
			setups.check(t, line, out, instance)
			if m := regexp.MustCompile(`"instance":"([^"]+)"`).FindAllStringSubmatch(out, -1); m != nil {
				instance = m[len(m)-1][1]
			}
			if strings.Contains(line, "/api/stickiness") {
				sticky = false
			}
			checkCommand(t, line, out, sticky)
			checks++
		}
	}
	if setups.checked < 4 {
		t.Errorf("only %d claims of the steps on -setup blog-paths and blue-green were checked: has the tutorial lost them?", setups.checked)
	}
	if checks < 15 {
		t.Fatalf("only %d README commands and answers were checked: has the tutorial lost its commands, or the test its way of finding them?", checks)
	}
}

// checkCommand checks what the commands of the tutorial that show cookies
// and stickiness printed, beyond their exit status.
func checkCommand(t *testing.T, line, out string, sticky bool) {
	t.Helper()
	switch {
	case strings.Contains(line, "grep -i -E '^set-cookie"):
		for _, want := range []string{"Set-Cookie: AWSALB=", "Set-Cookie: AWSALBCORS=", "SameSite=None; Secure", "X-Stickylab-Instance: app-", "Set-Cookie: stickylab_session_visits=1;"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s\nprinted %q, want it to contain %q", line, out, want)
			}
		}
		// An anonymous visitor gets no stored session, so no session cookie.
		if strings.Contains(out, "Set-Cookie: stickylab_session=") {
			t.Errorf("%s\nprinted %q, want no session cookie for an anonymous visit", line, out)
		}
	case strings.HasPrefix(line, "for i in 1 2 3"):
		got := strings.Fields(out)
		distinct := map[string]bool{}
		for _, g := range got {
			distinct[g] = true
		}
		// The first loop runs with duration stickiness: one instance; the
		// second after the switch to none: round robin over all three.
		want := 3
		if sticky {
			want = 1
		}
		if len(got) != 3 || len(distinct) != want {
			t.Errorf("%s\nprinted %q, want three instance names, %d of them distinct", line, out, want)
		}
	}
}

// compareJSON compares the last JSON object a command printed with the one
// the README shows after it, on every field but instance and visits.
func compareJSON(t *testing.T, block, out, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	var got, exp map[string]any
	if err := json.Unmarshal([]byte(last), &got); err != nil {
		t.Fatalf("after\n%s\nthe last answer %q is not JSON: %v", block, last, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("README JSON %q: %v", want, err)
	}
	for _, k := range []string{"instance", "visits"} {
		delete(got, k)
		delete(exp, k)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if string(g) != string(e) {
		t.Errorf("after\n%s\ngot %s, README shows %s", block, g, e)
	}
}

type mdBlock struct{ lang, text string }

// tutorialBlocks returns the fenced blocks of the README's "## Tutorial"
// section.
func tutorialBlocks(t *testing.T) []mdBlock {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []mdBlock
	in, fence := false, false
	var cur mdBlock
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Tutorial"
		case !in:
		case strings.HasPrefix(line, "```") && !fence:
			fence, cur = true, mdBlock{lang: strings.TrimPrefix(line, "```")}
		case strings.HasPrefix(line, "```"):
			fence = false
			blocks = append(blocks, cur)
		case fence:
			cur.text += line + "\n"
		}
	}
	if len(blocks) == 0 {
		t.Fatal("README.md has no ## Tutorial section with code blocks")
	}
	return blocks
}

// buildStickylab builds the binary the way a reader's go run . does.
func buildStickylab(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stickylab")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func shell(t *testing.T, dir, cmdline string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", cmdline)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("README command failed: %s\n%v\nstdout: %s\nstderr: %s", cmdline, err, out, stderr.String())
	}
	return string(out)
}

// demoProc is a running "stickylab demo".
type demoProc struct {
	cmd           *exec.Cmd
	listen, admin string
	out           *syncBuffer
}

func startDemo(t *testing.T, bin string, args []string) *demoProc {
	t.Helper()
	d := &demoProc{listen: freeAddr(t), admin: freeAddr(t), out: &syncBuffer{}}
	d.cmd = exec.Command(bin, append([]string{"demo", "-listen", d.listen, "-admin", d.admin}, args...)...)
	d.cmd.Stdout = d.out
	d.cmd.Stderr = d.out
	d.cmd.SysProcAttr = dieWithTest()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Ready when the balancer reports every target healthy, in every
	// target group of a setup.
	deadline := time.Now().Add(30 * time.Second)
	for {
		healthy, total, err := demoHealth(d.admin)
		if err == nil && healthy > 0 && healthy == total {
			return d
		}
		if time.Now().After(deadline) {
			d.stop(t)
			t.Fatalf("demo %v not ready in 30s: %v\n%s", args, err, d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// demoHealth counts the healthy targets of the demo's balancer: of every
// target group when it has several (GET /api/target-groups, -setup), else
// of its one (GET /api/targets).
func demoHealth(admin string) (healthy, total int, err error) {
	type targets []struct{ State string }
	var st struct {
		Targets      targets `json:"targets"`
		TargetGroups []struct {
			Targets targets `json:"targets"`
		} `json:"target_groups"`
	}
	resp, err := http.Get("http://" + admin + "/api/target-groups")
	if err == nil && resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		resp, err = http.Get("http://" + admin + "/api/targets")
	}
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, 0, err
	}
	all := st.Targets
	for _, g := range st.TargetGroups {
		all = append(all, g.Targets...)
	}
	for _, tg := range all {
		if tg.State == "healthy" {
			healthy++
		}
	}
	return healthy, len(all), nil
}

// stop ends the demo as Ctrl-C does; nil is fine.
func (d *demoProc) stop(t *testing.T) {
	if d == nil || d.cmd.Process == nil || d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo exited with %v after Ctrl-C:\n%s", err, d.out.String())
		}
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-done
		t.Errorf("demo did not stop within 15s of Ctrl-C")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestDocLinks checks that every relative link in README.md and docs/*.md
// names a file of the repository, and that a link to a heading of a
// Markdown file names one it has (GitHub's anchors: lower case, spaces as
// dashes, punctuation dropped).
func TestDocLinks(t *testing.T) {
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	checked := 0
	for _, doc := range append([]string{"README.md"}, docs...) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := doc
			if file != "" {
				path = filepath.Join(filepath.Dir(doc), file)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %q: %v", doc, target, err)
				continue
			}
			if anchor != "" && strings.HasSuffix(path, ".md") && !hasAnchor(t, path, anchor) {
				t.Errorf("%s: link %q: %s has no heading with that anchor", doc, target, path)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d links checked: has the link pattern stopped matching?", checked)
	}
}

// hasAnchor reports whether the Markdown file path has a heading whose
// GitHub anchor is anchor.
func hasAnchor(t *testing.T, path, anchor string) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var slug strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ' || r == '-':
				slug.WriteRune('-')
			case r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				slug.WriteRune(r)
			}
		}
		if slug.String() == anchor {
			return true
		}
	}
	return false
}
