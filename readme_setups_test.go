package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// setupSteps checks what the tutorial's steps on the demo's ready setups
// (go run . -setup NAME) claim, beyond the JSON answers: with blog-paths,
// the page comes from the instance that served the login through /api;
// with blue-green, a client logged in before the shift stays on its
// instance in blue, and a new client after it goes to green.
type setupSteps struct {
	setup   string // the -setup of the running demo, "" for the default
	ada     string // blue-green: the instance that served the login
	shifted bool   // blue-green: the weights have moved to green
	checked int    // claims checked
}

// The groups of the blue-green setup with the demo's three instances: the
// first half is blue (lab/setup.go).
var (
	blueInstances  = []string{"app-1", "app-2"}
	greenInstances = []string{"app-3"}
)

var (
	instanceHeader = regexp.MustCompile(`X-Stickylab-Instance: (\S+)`)
	instanceField  = regexp.MustCompile(`"instance":"([^"]+)"`)
)

// start notes the setup of a go run . command's flags.
func (s *setupSteps) start(flags []string) {
	*s = setupSteps{checked: s.checked}
	if i := slices.Index(flags, "-setup"); i >= 0 && i+1 < len(flags) {
		s.setup = flags[i+1]
	}
}

// check checks the claims about one command's output; last is the
// instance named by the JSON answer before it.
func (s *setupSteps) check(t *testing.T, line, out, last string) {
	t.Helper()
	switch s.setup {
	case "blog-paths":
		if strings.Contains(line, "%header{x-stickylab-instance}") && strings.Contains(line, "127.0.0.1:8080/;") {
			// Three pages, from the instance of the login: without
			// stickiness, round robin would spread them over three.
			got := strings.Fields(out)
			if len(got) != 3 || last == "" || slices.ContainsFunc(got, func(g string) bool { return g != last }) {
				t.Errorf("%s\nthe pages came from %q, want three times %q, the instance that served the login through /api", line, got, last)
			}
			s.checked++
		}
	case "blue-green":
		s.checkBlueGreen(t, line, out)
	}
}

func (s *setupSteps) checkBlueGreen(t *testing.T, line, out string) {
	t.Helper()
	switch {
	case strings.Contains(line, "/api/login"):
		m := instanceHeader.FindStringSubmatch(out)
		if m == nil || !slices.Contains(blueInstances, m[1]) {
			t.Errorf("%s\nprinted %q, want a login served by blue (%v) with weights 100/0", line, out, blueInstances)
			return
		}
		s.ada = m[1]
		for _, c := range []string{"stickylab_session", "AWSALBTG", "AWSALBTGCORS", "AWSALB", "AWSALBCORS"} {
			if !slices.Contains(strings.Split(out, "\n"), "Set-Cookie: "+c) {
				t.Errorf("%s\nprinted %q, want Set-Cookie: %s", line, out, c)
			}
		}
		s.checked++
	case strings.Contains(line, "/api/rules/default"):
		if !strings.Contains(out, `{"name":"blue","weight":0}`) || !strings.Contains(out, `{"name":"green","weight":100}`) {
			t.Errorf("%s\nprinted %q, want the rule with blue 0 and green 100", line, out)
		}
		s.shifted = true
	case strings.Contains(line, "/api/session"):
		m := instanceField.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s\nprinted %q, want a session naming its instance", line, out)
		}
		switch {
		case strings.Contains(line, "-b jar.txt"):
			if s.ada == "" || m[1] != s.ada {
				t.Errorf("%s\nserved by %s, want %q: the logged-in client stays on its instance in blue", line, m[1], s.ada)
			}
		case s.shifted:
			if !slices.Contains(greenInstances, m[1]) {
				t.Errorf("%s\nserved by %s, want green (%v): a new client after the shift", line, m[1], greenInstances)
			}
		default:
			if !slices.Contains(blueInstances, m[1]) {
				t.Errorf("%s\nserved by %s, want blue (%v): a new client before the shift", line, m[1], blueInstances)
			}
		}
		s.checked++
	}
}
