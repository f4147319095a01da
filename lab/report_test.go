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
			want:    []string{"Redis store: 2 users in the killed phase with stickiness duration were logged out."},
			notWant: []string{"nobody was logged out in any phase", "Stickiness only decides"},
		},
		{
			name:    "a count that differs from the killed instance's users says so",
			res:     notExact,
			want:    []string{"killing app-2 logged out 7 of 30 users (it served 10)"},
			notWant: []string{"exactly"},
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
