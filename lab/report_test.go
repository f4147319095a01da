package lab

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// cell builds a cell whose phases have the given logged-out and failed
// counts, in Phases order, and spreads of `spread` users per instance.
func cell(sticky, store, killed string, killedUsers int, loggedOut, failed [4]int, spread ...int) Cell {
	c := Cell{Sticky: sticky, Store: store, Killed: killed, KilledUsers: killedUsers}
	for i, name := range Phases {
		p := Phase{Name: name, LoggedOut: loggedOut[i], Failed: failed[i], Spread: map[string]int{}}
		for j, n := range spread {
			p.Spread["app-"+string(rune('1'+j))] = n
		}
		c.Phases = append(c.Phases, p)
	}
	return c
}

func textbook(failover bool, killedFailed int) *Result {
	r := &Result{Users: 30, Requests: 10, Instances: 3, StickyDuration: Duration(2 * time.Second), PassiveFailover: failover}
	r.Cells = []Cell{
		cell("none", "memory", "app-1", 30, [4]int{30, 30, 30, 30}, [4]int{}, 30, 30, 30),
		cell("none", "redis", "app-1", 30, [4]int{}, [4]int{}, 30, 30, 30),
		cell("duration", "memory", "app-2", 10, [4]int{0, 10, 0, 20}, [4]int{0, killedFailed, 0, 0}, 10, 10, 10),
		cell("duration", "redis", "app-1", 10, [4]int{}, [4]int{}, 10, 10, 10),
	}
	// The killed instance got nobody back after its restart.
	r.Cells[2].Phases[2].Spread["app-2"] = 0
	return r
}

func TestFindings(t *testing.T) {
	brokenRedis := textbook(true, 0)
	brokenRedis.Cells[3].Phases[1].LoggedOut = 2
	notExact := textbook(true, 0)
	notExact.Cells[2].Phases[1].LoggedOut = 7
	oneBack := textbook(true, 0)
	oneBack.Cells[2].Phases[2].LoggedOut = 1
	manyBack := textbook(true, 0)
	manyBack.Cells[2].Phases[2].LoggedOut = 56
	oneRedis := textbook(true, 0)
	oneRedis.Cells[3].Phases[2].LoggedOut = 1
	confounded := textbook(true, 0)
	confounded.Cells[2].Phases[0].SlowChecks = 1
	confounded.Cells[3].Phases[1].SlowChecks = 2
	confounded.Cells[2].Phases[0].StickyExpired = 1
	confounded.Cells[3].Phases[2].MaybeExpired = 3
	confounded.Cells[3].Phases[2].LongestGap = Duration(2100 * time.Millisecond)
	confounded.Cells[2].Phases[0].LongestGap = Duration(2300 * time.Millisecond)
	confounded.HealthInterval = Duration(250 * time.Millisecond)
	withCookie := textbook(true, 0)
	withCookie.Cells = append(withCookie.Cells, cell("duration", "cookie", "app-1", 10, [4]int{}, [4]int{}, 10, 10, 10))

	cases := []struct {
		name    string
		res     *Result
		want    []string // substrings, each in some finding
		notWant []string
	}{
		{
			name: "the textbook pattern",
			res:  textbook(true, 0),
			want: []string{
				"Memory store without stickiness: 30 of 30 users were logged out in steady state",
				"Memory store with duration stickiness: nobody was logged out while every instance was up; killing app-2 logged out 10 of 30 users, exactly the 10 it served",
				"no user came back to it",
				"once the 2s stickiness had expired, 20 of 30 users were logged out again",
				"Redis store: nobody was logged out in any phase",
				"No request failed: passive failover",
				"Stickiness only decides who is logged out",
			},
		},
		{
			name:    "redis losing users is reported, and no conclusion drawn",
			res:     brokenRedis,
			want:    []string{"Redis store, users logged out: 2 users in the killed phase with stickiness duration."},
			notWant: []string{"nobody was logged out in any phase", "Stickiness only decides"},
		},
		{
			name:    "a count that differs from the killed instance's users says so",
			res:     notExact,
			want:    []string{"killing app-2 logged out 7 of 30 users (it served 10)"},
			notWant: []string{"exactly"},
		},
		{
			name:    "one user logged out after the restart (singular)",
			res:     oneBack,
			want:    []string{"; after its restart 1 of 30 users was logged out;"},
			notWant: []string{"users were;", "logged out 1 of 30 users was"},
		},
		{
			name: "many users logged out after the restart (plural, no stray verb)",
			res:  manyBack,
			want: []string{"; after its restart 56 of 30 users were logged out;"},
		},
		{
			name: "one redis user (singular)",
			res:  oneRedis,
			want: []string{"Redis store, users logged out: 1 user in the back phase with stickiness duration."},
		},
		{
			name: "health check timeouts and expiry inside a phase are said",
			res:  confounded,
			want: []string{
				"Health checks timed out once in duration/memory",
				"Health checks timed out 2 times in duration/redis",
				"(it was 250ms)",
				"Stickiness expired inside a phase (duration/memory) for 1 of 30 users in the steady phase: they stayed idle longer than the 2s stickiness duration (up to 2.3s between two answers)",
				"Stickiness may have expired inside a phase (duration/redis) for 3 of 30 users in the back phase: up to 2.1s passed between one of their answers and the next",
			},
		},
		{
			name: "the cookie store is named as such",
			res:  withCookie,
			want: []string{
				"Cookie store: nobody was logged out in any phase, with stickiness duration: each request carries its whole session",
				"only the shared store and the cookie store kept everyone logged in",
			},
		},
		{
			name: "ALB without passive failover",
			res:  textbook(false, 12),
			want: []string{"12 requests failed: without passive failover (ALB's behaviour)"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(findings(c.res), "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("findings lack %q; got:\n%s", w, got)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(got, w) {
					t.Errorf("findings have %q; got:\n%s", w, got)
				}
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	r := textbook(true, 0)
	r.Findings = findings(r)
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"30 users, 10 requests each per phase, 3 instances, stickiness duration 2s, passive failover on",
		"none      memory    30 / 0     30 / 0     30 / 0     30 / 0       app-1 (30 users)   30 / 30 / 30",
		"duration  memory     0 / 0     10 / 0      0 / 0     20 / 0       app-2 (10 users)   10 / 10 / 10",
		r.Findings[0],
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q; got:\n%s", want, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	r := textbook(true, 0)
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		StickyDuration string `json:"sticky_duration"`
		Cells          []struct {
			Sticky, Store string
			Phases        []struct {
				Name      string         `json:"name"`
				LoggedOut int            `json:"logged_out"`
				Spread    map[string]int `json:"spread"`
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, b.String())
	}
	if got.StickyDuration != "2s" {
		t.Errorf("sticky_duration: got %q, want 2s", got.StickyDuration)
	}
	if len(got.Cells) != 4 || got.Cells[2].Phases[3].Name != "expired" || got.Cells[2].Phases[3].LoggedOut != 20 || got.Cells[2].Phases[0].Spread["app-3"] != 10 {
		t.Errorf("cells: got %+v, want the textbook numbers", got.Cells)
	}
}
