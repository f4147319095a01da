package lab

import (
	"cmp"
	"context"
	"strings"
	"testing"
	"time"
)

// The tests of the lesson: the experiment with real instance processes, a
// real balancer and a crowd of users, asserting the pattern the blog post
// describes. Fewer users than the command's 30 keep them quick; the
// pattern does not depend on the number.

const lessonUsers = 12

func runLesson(t *testing.T, cfg ExperimentConfig) *Result {
	t.Helper()
	cfg.Binary = stickylab
	cfg.Users = cmp.Or(cfg.Users, lessonUsers)
	cfg.Requests = cmp.Or(cfg.Requests, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := RunExperiment(ctx, cfg)
	if err != nil {
		t.Fatalf("RunExperiment: %v", err)
	}
	for _, c := range res.Cells {
		for _, w := range c.Warnings {
			t.Errorf("%s/%s: %s", c.Sticky, c.Store, w)
		}
	}
	return res
}

func TestLesson(t *testing.T) {
	res := runLesson(t, ExperimentConfig{PassiveFailover: true})
	if got, want := len(res.Cells), 6; got != want {
		t.Fatalf("got %d cells, want %d", got, want)
	}
	for _, c := range res.Cells {
		t.Run(c.Sticky+"/"+c.Store, func(t *testing.T) {
			phase := func(name string) Phase {
				p, ok := c.Phase(name)
				if !ok {
					t.Fatalf("no %s phase", name)
				}
				return p
			}
			for _, name := range Phases {
				if p := phase(name); p.Failed != 0 {
					t.Errorf("%s: %d requests failed, want none with passive failover", name, p.Failed)
				}
			}
			switch {
			case c.Store == "redis":
				for _, name := range Phases {
					if p := phase(name); p.LoggedOut != 0 {
						t.Errorf("%s: %d users logged out, want none with redis", name, p.LoggedOut)
					}
				}
			case c.Sticky == "none":
				// Round robin moves every user between instances, each of
				// which knows only its own sessions.
				if p := phase(PhaseSteady); p.LoggedOut < lessonUsers/2 {
					t.Errorf("steady: %d of %d users logged out, want most", p.LoggedOut, lessonUsers)
				}
			default:
				if p := phase(PhaseSteady); p.LoggedOut != 0 {
					t.Errorf("steady: %d users logged out, want none while sticky", p.LoggedOut)
				}
				if c.KilledUsers == 0 {
					t.Fatalf("killed %s, which served no user", c.Killed)
				}
				if p := phase(PhaseKilled); p.LoggedOut != c.KilledUsers {
					t.Errorf("killed: %d users logged out, want exactly the %d that %s served", p.LoggedOut, c.KilledUsers, c.Killed)
				}
				if p := phase(PhaseBack); p.LoggedOut != 0 {
					t.Errorf("back: %d users logged out, want none", p.LoggedOut)
				}
				if p := phase(PhaseBack); p.Spread[c.Killed] != 0 {
					t.Errorf("back: %s served %d users, want none: re-stuck clients stay on their new instance", c.Killed, p.Spread[c.Killed])
				}
				if p := phase(PhaseExpired); p.LoggedOut == 0 {
					t.Errorf("expired: nobody logged out, want the users the balancer moved once stickiness expired")
				}
			}
		})
	}
	if len(res.Findings) == 0 {
		t.Error("no findings")
	}
}

// Without passive failover the balancer behaves like ALB: the clients of
// the killed instance get errors until the health check marks it
// unhealthy, and are logged out once they reach another instance.
func TestLessonWithoutPassiveFailover(t *testing.T) {
	res := runLesson(t, ExperimentConfig{Stickies: []string{"duration"}, Stores: []string{"memory"}})
	c := res.Cells[0]
	killed, _ := c.Phase(PhaseKilled)
	if killed.Failed == 0 {
		t.Errorf("killed: no request failed, want the 502s ALB's clients see before the health check notices")
	}
	if killed.LoggedOut != c.KilledUsers {
		t.Errorf("killed: %d users logged out, want the %d that %s served", killed.LoggedOut, c.KilledUsers, c.Killed)
	}
	for _, name := range []string{PhaseSteady, PhaseBack, PhaseExpired} {
		if p, _ := c.Phase(name); p.Failed != 0 {
			t.Errorf("%s: %d requests failed, want none with every instance up", name, p.Failed)
		}
	}
}

// A large crowd on a small machine: 300 users on 9 instances with duration
// stickiness. Without pacing and a health check sized to the crowd, the
// health checks timed out under load and users were logged out in steady
// state, which read as a false lesson. The pattern must be the small
// crowd's, with nothing else mixed in.
func TestLessonLargeCrowd(t *testing.T) {
	if testing.Short() {
		t.Skip("a large crowd; not in -short")
	}
	const users = 300
	res := runLesson(t, ExperimentConfig{
		Users: users, Requests: 3, Instances: 9, PassiveFailover: true,
		Stickies: []string{"duration"}, Stores: []string{"memory"},
	})
	c := res.Cells[0]
	for _, p := range c.Phases {
		if p.SlowChecks != 0 || p.StickyExpired != 0 {
			t.Errorf("%s: %d health checks timed out, stickiness expired for %d users (longest gap %v): the crowd confounds the lesson",
				p.Name, p.SlowChecks, p.StickyExpired, time.Duration(p.LongestGap))
		}
	}
	steady, _ := c.Phase(PhaseSteady)
	killed, _ := c.Phase(PhaseKilled)
	back, _ := c.Phase(PhaseBack)
	expired, _ := c.Phase(PhaseExpired)
	if steady.LoggedOut != 0 {
		t.Errorf("steady: %d of %d users logged out, want none while sticky with every instance up", steady.LoggedOut, users)
	}
	if c.KilledUsers == 0 || killed.LoggedOut != c.KilledUsers {
		t.Errorf("killed: %d users logged out, want exactly the %d that %s served", killed.LoggedOut, c.KilledUsers, c.Killed)
	}
	if back.LoggedOut != 0 {
		t.Errorf("back: %d users logged out, want none", back.LoggedOut)
	}
	if expired.LoggedOut < users/2 {
		t.Errorf("expired: %d of %d users logged out, want most: the balancer spreads them anew over 9 instances", expired.LoggedOut, users)
	}
	for _, f := range res.Findings {
		if strings.Contains(f, "users were;") || strings.Contains(f, "users was;") {
			t.Errorf("garbled finding: %s", f)
		}
	}
}
