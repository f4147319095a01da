package lb

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// stickinessSeen asks a backend's /headers through the balancer and returns
// the StickinessHeader value the backend received and the backend's name.
func stickinessSeen(t *testing.T, c *http.Client, r *running, hdr map[string]string) (got, backend string) {
	t.Helper()
	resp, body := do(t, c, "GET", r.url+"/headers", hdr)
	var seen struct {
		Header http.Header `json:"header"`
	}
	if err := json.Unmarshal([]byte(body), &seen); err != nil {
		t.Fatalf("backend answer %q: %v", body, err)
	}
	return seen.Header.Get(StickinessHeader), resp.Header.Get("X-Backend")
}

func TestStickinessHeader(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		const spoof = "mode=duration; cookie=AWSALB; target=app-9; decision=stuck"
		cases := []struct {
			name   string
			cfg    Config
			client map[string]string // headers the client sends
			want   string            // regexp of what the target receives; "" means absent
			again  string            // regexp of what the second request of the same client delivers
		}{
			{
				name: "off by default: nothing added, the client's value passes as ALB passes any header",
				cfg:  Config{Sticky: StickyDuration}, client: map[string]string{StickinessHeader: spoof},
				want: regexp.QuoteMeta(spoof), again: regexp.QuoteMeta(spoof),
			},
			{
				name:  "duration: new, then stuck, with the target's name and the deadline",
				cfg:   Config{Sticky: StickyDuration, StickyDuration: time.Hour, StickinessHeader: true},
				want:  `^mode=duration; cookie=AWSALB; target=(app-\d); until=(\S+Z); decision=new$`,
				again: `^mode=duration; cookie=AWSALB; target=(app-\d); until=(\S+Z); decision=stuck$`,
			},
			{
				name: "a client's own value is replaced",
				cfg:  Config{Sticky: StickyDuration, StickinessHeader: true}, client: map[string]string{StickinessHeader: spoof},
				want: `^mode=duration; cookie=AWSALB; target=(app-\d); until=\S+; decision=new$`, again: `decision=stuck$`,
			},
			{
				name: "app mode names AWSALBAPP-0",
				cfg:  Config{Sticky: StickyApp, AppCookie: testAppCookie, StickinessHeader: true},
				want: `^mode=app; cookie=AWSALBAPP-0; target=(app-\d); until=\S+; decision=new$`, again: `decision=new$`,
			},
			{
				name: "no stickiness",
				cfg:  Config{StickinessHeader: true}, client: map[string]string{StickinessHeader: spoof},
				want: `^mode=none$`, again: `^mode=none$`,
			},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, targets := backends(t, 3)
				tc.cfg.Targets, tc.cfg.Engine = targets, engine
				r := serve(t, tc.cfg)
				waitHealthy(t, r)
				c := newClient(t)
				before := time.Now().UTC().Truncate(time.Second)
				got, served := stickinessSeen(t, c, r, tc.client)
				m := regexp.MustCompile(tc.want).FindStringSubmatch(got)
				if m == nil {
					t.Fatalf("first request: target got %s %q, want %s", StickinessHeader, got, tc.want)
				}
				if len(m) > 1 && m[1] != served {
					t.Errorf("header names %s, but %s answered", m[1], served)
				}
				if len(m) > 2 {
					until, err := time.Parse(time.RFC3339, m[2])
					if d := tc.cfg.StickyDuration; err != nil || until.Before(before.Add(d)) || until.After(time.Now().Add(d)) {
						t.Errorf("until = %q (%v), want about now + %v", m[2], err, d)
					}
				}
				got, _ = stickinessSeen(t, c, r, tc.client)
				if !regexp.MustCompile(tc.again).MatchString(got) {
					t.Errorf("second request: target got %q, want %s", got, tc.again)
				}
			})
		}
	})
}

// TestStickinessHeaderAfterFailover checks that a request moved by passive
// failover tells the target that answers its own name, as restuck.
func TestStickinessHeaderAfterFailover(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, targets := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: targets, Sticky: StickyDuration, PassiveFailover: true, StickinessHeader: true,
			HealthInterval: 5 * time.Minute, HealthTimeout: time.Second}) // only passive failover notices the kill
		waitFor(t, "first health checks", func() bool { return targetState(r, "app-1") == "healthy" })
		c := newClient(t)
		_, first := stickinessSeen(t, c, r, nil)
		for _, b := range bs {
			if b.name == first {
				b.kill()
			}
		}
		got, served := stickinessSeen(t, c, r, nil)
		want := regexp.MustCompile(`^mode=duration; cookie=AWSALB; target=` + regexp.QuoteMeta(served) + `; until=\S+; decision=restuck$`)
		if served == first || !want.MatchString(got) {
			t.Fatalf("after killing %s: %s answered with header %q, want another target named in it as restuck", first, served, got)
		}
	})
}
