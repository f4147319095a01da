package app

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseStickiness(t *testing.T) {
	until := time.Date(2026, 11, 27, 14, 5, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		want   stickiness
		ok     bool
	}{
		{"stuck, duration", "mode=duration; cookie=AWSALB; target=app-2; until=2026-11-27T14:05:00Z; decision=stuck",
			stickiness{Mode: "duration", Decision: "stuck", Target: "app-2", Cookie: "AWSALB", Until: until}, true},
		{"new, app, any order and spacing", "decision=new;target=app-1 ;  mode=app;cookie=AWSALBAPP-0",
			stickiness{Mode: "app", Decision: "new", Target: "app-1", Cookie: "AWSALBAPP-0"}, true},
		{"restuck", "mode=duration; target=app-3; decision=restuck",
			stickiness{Mode: "duration", Decision: "restuck", Target: "app-3"}, true},
		{"none", "mode=none", stickiness{Mode: "none"}, true},
		{"none ignores the rest", "mode=none; decision=whatever", stickiness{Mode: "none"}, true},
		{"unknown key ignored", "mode=app; target=app-1; decision=stuck; hint=later", stickiness{Mode: "app", Decision: "stuck", Target: "app-1"}, true},
		{"keys are case-insensitive", "Mode=app; Target=app-1; Decision=stuck", stickiness{Mode: "app", Decision: "stuck", Target: "app-1"}, true},
		{"time with offset", "mode=duration; target=a; decision=stuck; until=2026-11-27T15:05:00+01:00",
			stickiness{Mode: "duration", Decision: "stuck", Target: "a", Until: until}, true},

		{"absent", "", stickiness{}, false},
		{"no mode", "target=app-1; decision=stuck", stickiness{}, false},
		{"unknown mode", "mode=sticky; target=app-1; decision=stuck", stickiness{}, false},
		{"unknown decision", "mode=app; target=app-1; decision=maybe", stickiness{}, false},
		{"no decision", "mode=app; target=app-1", stickiness{}, false},
		{"no target", "mode=app; decision=new", stickiness{}, false},
		{"markup in target", "mode=app; target=<b>x</b>; decision=new", stickiness{}, false},
		{"space in cookie", "mode=app; target=a; cookie=A B; decision=new", stickiness{}, false},
		{"bad time", "mode=app; target=a; decision=new; until=14:05", stickiness{}, false},
		{"repeated key", "mode=app; mode=none; target=a; decision=new", stickiness{}, false},
		{"field without =", "mode=app; stuck", stickiness{}, false},
		{"trailing ;", "mode=none;", stickiness{}, false},
		{"long target", "mode=app; decision=new; target=" + strings.Repeat("a", 65), stickiness{}, false},
		{"over-long header", "mode=none; x=" + strings.Repeat("a", maxStickinessHeader), stickiness{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseStickiness(tt.header)
			// The same instant in another zone is the same deadline.
			sameUntil := got.Until.Equal(tt.want.Until)
			got.Until, tt.want.Until = time.Time{}, time.Time{}
			if ok != tt.ok || got != tt.want || !sameUntil {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestStripView(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, paris)
	tests := []struct {
		name     string
		until    time.Time
		wantText string
		wantISO  string
	}{
		{"today, in the reader's zone", time.Date(2026, 11, 27, 13, 5, 0, 0, time.UTC), "14:05", "2026-11-27T13:05:00Z"},
		{"tomorrow", time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC), "Nov 28 10:30", "2026-11-28T09:30:00Z"},
		{"unknown", time.Time{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newStripView(stickiness{Mode: "duration", Decision: "stuck", Target: "app-2", Until: tt.until}, now)
			if v.UntilText != tt.wantText || v.UntilISO != tt.wantISO {
				t.Errorf("got %q %q, want %q %q", v.UntilText, v.UntilISO, tt.wantText, tt.wantISO)
			}
		})
	}
}

// TestPageStrip checks the strip the page shows for the balancer's header,
// escaped, and that a malformed or hostile header shows nothing.
func TestPageStrip(t *testing.T) {
	srv := serve(t, "app-2", newMemoryStore(t, nil))
	strip := regexp.MustCompile(`(?s)<span class="badge strip" data-decision="([^"]*)"[^>]*><span class="strip-label">Balancer</span>(.*?)</span>\s*</div>`)
	tests := []struct {
		name, header string
		decision     string // "" when no strip is wanted
		text         string // the strip's HTML, white space collapsed
	}{
		{"stuck", "mode=duration; cookie=AWSALB; target=app-2; until=2030-01-02T03:04:00Z; decision=stuck", "stuck",
			`stuck to <strong>app-2</strong> until <time datetime="2030-01-02T03:04:00Z">` +
				time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC).Local().Format("Jan 2 15:04") + `</time> (AWSALB cookie)`},
		{"new", "mode=app; cookie=AWSALBAPP-0; target=app-1; decision=new", "new",
			`new: it just picked <strong>app-1</strong> and set AWSALBAPP-0`},
		{"restuck", "mode=duration; target=app-3; decision=restuck", "restuck",
			`re-stuck: the instance your cookie named is down, so it picked <strong>app-3</strong>`},
		{"none", "mode=none", "none", `no stickiness: each request goes to the next instance`},
		{"absent", "", "", ""},
		{"malformed", `mode=app; target="><script>alert(1)</script>; decision=new`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.header != "" {
				hdr = []string{stickinessHeader, tt.header}
			}
			r := newClient(t).do("GET", srv.URL+"/", "", "", hdr...)
			if r.status != 200 {
				t.Fatalf("got status %d, want 200", r.status)
			}
			m := strip.FindStringSubmatch(r.body)
			switch {
			case tt.decision == "" && m != nil:
				t.Errorf("got strip %q, want none", m[0])
			case tt.decision == "" && strings.Contains(r.body, "<script>"):
				t.Errorf("page holds <script>")
			case tt.decision != "" && m == nil:
				t.Errorf("no strip in the page:\n%s", r.body)
			case tt.decision != "":
				if got := strings.Join(strings.Fields(m[2]), " "); m[1] != tt.decision || got != tt.text {
					t.Errorf("got strip %s %q, want %s %q", m[1], got, tt.decision, tt.text)
				}
			}
		})
	}
}

// TestFrameAncestors checks who may show the page in a frame: the lab's
// dashboard on another port of the same host, and nobody else.
func TestFrameAncestors(t *testing.T) {
	tests := []struct{ host, want string }{
		{"127.0.0.1:8080", "'self' http://127.0.0.1:* https://127.0.0.1:*"},
		{"localhost", "'self' http://localhost:* https://localhost:*"},
		{"shop.example.com:443", "'self' http://shop.example.com:* https://shop.example.com:*"},
		{"[::1]:8080", "'self'"},
		{"", "'self'"},
		{"evil; script-src *", "'self'"},
		{"a*b", "'self'"},
		{strings.Repeat("a", 254), "'self'"},
	}
	for _, tt := range tests {
		if got := frameAncestors(tt.host); got != tt.want {
			t.Errorf("frameAncestors(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}

	srv := serve(t, "app-1", newMemoryStore(t, nil))
	r := newClient(t).do("GET", srv.URL+"/", "", "")
	host := strings.TrimPrefix(srv.URL, "http://")
	if csp, want := r.header.Get("Content-Security-Policy"), "; frame-ancestors "+frameAncestors(host); !strings.HasSuffix(csp, want) {
		t.Errorf("got CSP %q, want it to end with %q", csp, want)
	}
}
