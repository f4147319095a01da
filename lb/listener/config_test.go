package listener

import (
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoadExamples loads each example of testdata and checks what it says.
func TestLoadExamples(t *testing.T) {
	cases := []struct {
		file  string
		check func(t *testing.T, c *Config)
	}{
		{"contract.yaml", func(t *testing.T, c *Config) {
			l := c.Listener
			equal(t, "listen", l.Listen, "127.0.0.1:8080")
			equal(t, "protocol", l.Protocol, HTTP)
			equal(t, "idle timeout", l.IdleTimeout, 60*time.Second)
			equal(t, "default forward", forwardNames(l.DefaultAction), "web:1")
			equal(t, "rules", len(l.Rules), 3)
			equal(t, "rule 10 path", l.Rules[0].Conditions.PathPattern[0], "/api/*")
			equal(t, "rule 10 forward", forwardNames(l.Rules[0].Action), "api:1")
			equal(t, "rule 20 forward", forwardNames(l.Rules[1].Action), "blue:80 green:20")
			equal(t, "rule 20 group stickiness", l.Rules[1].Action.Forward.Stickiness, GroupStickiness{Enabled: true, Duration: time.Hour})
			equal(t, "rule 30 redirect", *l.Rules[2].Action.Redirect, Redirect{Protocol: "#{protocol}", Host: "#{host}", Port: "#{port}", Path: "/", Query: "#{query}", StatusCode: 301})
			web := c.TargetGroup("web")
			equal(t, "web targets", len(web.Targets), 2)
			equal(t, "web target 2", web.Targets[1].Name+" "+web.Targets[1].URL.String(), "app-2 http://127.0.0.1:9002")
			equal(t, "web stickiness", web.Stickiness, Stickiness{Enabled: true, Type: AppCookie, CookieName: "stickylab_session", Duration: 24 * time.Hour})
			equal(t, "web health matcher", web.HealthCheck.Matcher.String(), "200-299")
			equal(t, "web unhealthy state routing", web.UnhealthyStateRouting, UnhealthyStateRouting{MinimumHealthyTargetsCount: 1})
			equal(t, "api stickiness", c.TargetGroup("api").Stickiness.Enabled, false)
		}},
		{"blog-paths.yaml", func(t *testing.T, c *Config) {
			equal(t, "default forward", forwardNames(c.Listener.DefaultAction), "pages:1")
			equal(t, "api rule paths", c.Listener.Rules[0].Conditions.PathPattern, []string{"/api", "/api/*"})
			for _, name := range []string{"pages", "api"} {
				tg := c.TargetGroup(name)
				equal(t, name+" targets", len(tg.Targets), 3)
				equal(t, name+" stickiness", tg.Stickiness, Stickiness{Enabled: true, Type: AppCookie, CookieName: "stickylab_session", Duration: 24 * time.Hour})
			}
		}},
		{"blue-green.yaml", func(t *testing.T, c *Config) {
			equal(t, "default forward", forwardNames(c.Listener.DefaultAction), "blue:80 green:20")
			equal(t, "group stickiness", c.Listener.DefaultAction.Forward.Stickiness, GroupStickiness{Enabled: true, Duration: time.Hour})
			equal(t, "canary header", c.Listener.Rules[0].Conditions.HTTPHeader, []HeaderCondition{{Name: "X-Canary", Values: []string{"1"}}})
			equal(t, "green slow start", c.TargetGroup("green").SlowStart, 30*time.Second)
			equal(t, "blue stickiness type", c.TargetGroup("blue").Stickiness.Type, LBCookie)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tc.check(t, c)
		})
	}
}

// TestLoadBadFiles loads each file of testdata/bad and wants its error, whole.
func TestLoadBadFiles(t *testing.T) {
	cases := []struct{ file, want string }{
		{"app-cookie-weighted.yaml", `4:49: listener.default_action.forward.target_groups[1]: target group "green" has app_cookie stickiness, which ALB does not support with weighted target groups; use lb_cookie, or forward to it alone`},
		{"duplicate-key.yaml", `4:3: listener.listen: given twice (first on line 2)`},
		{"duplicate-priority.yaml", `7:17: listener.rules[1].priority: 10 is already the priority of listener.rules[0]; priorities must be unique (1 to 50000)`},
		{"health-timeout.yaml", `6:43: target_groups[0].health_check.timeout: 5s must be shorter than the interval 5s (ALB's rule)`},
		{"https-no-certificate.yaml", `2:3: listener.certificate: is required: {cert_file, key_file} or {self_signed: true} with protocol: HTTPS`},
		{"https-redirect.yaml", `5:26: listener.default_action.redirect.protocol: an HTTPS listener cannot redirect to HTTP (ALB's rule); want HTTPS or #{protocol}`},
		{"idle-timeout.yaml", `2:17: listener.idle_timeout: 5000s is out of range; want a duration from 1s to 4000s in whole seconds (e.g. 30s, 5m, 1h, 7d, or 300 for seconds)`},
		{"matcher.yaml", `6:29: target_groups[0].health_check.matcher: "200-299,500" is not allowed; want codes or ranges within 200 to 499, comma-separated, e.g. 200, 200,202 or 200-299`},
		{"missing-group.yaml", `6:40: listener.rules[0].action.forward.target_group: no target group is named "api" (defined: web)`},
		{"redirect-loop.yaml", `7:19: listener.rules[0].action.redirect: redirects to the same URL; to avoid a loop ALB requires a change to the protocol, host, port or path`},
		{"reserved-cookie.yaml", `6:49: target_groups[0].stickiness.cookie_name: "AWSALBTGsession" is reserved: names starting with AWSALB, AWSALBAPP or AWSALBTG belong to the load balancer`},
		{"six-groups.yaml", `4:22: listener.default_action.forward.target_groups: 6 target groups; want 1 to 5 (ALB's limit)`},
		{"slow-start.yaml", `7:17: target_groups[0].slow_start: 60s is not allowed with algorithm: least_outstanding_requests (ALB's rule); want 0`},
		// go-yaml gives the line where the unclosed { starts, counted from 0.
		{"syntax.yaml", `1: YAML syntax: did not find expected ',' or '}'`},
		{"too-many-values.yaml", `6:9: listener.rules[0].conditions: 6 condition values; ALB allows at most 5 per rule`},
		{"unknown-key.yaml", `8:7: target_groups[0].stickiness.cookie_duration: unknown key; allowed: enabled, type, cookie_name, duration; did you mean duration?`},
		{"weight.yaml", `5:32: listener.default_action.forward.target_groups[0].weight: 1000 is not allowed; want a whole number from 0 to 999`},
	}
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) != len(cases) {
		t.Errorf("testdata/bad has %d files, the table %d cases: give each file its error", len(files), len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tc.file)
			_, err := Load(path)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Load: got %v, want an *Error", err)
			}
			if got, want := err.Error(), path+":"+tc.want; got != want {
				t.Errorf("Load:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	var fe *Error
	if err == nil || errors.As(err, &fe) {
		t.Errorf("Load of a missing file: got %v, want an I/O error", err)
	}
}

func TestShorthand(t *testing.T) {
	targets := []Target{mustTarget(t, "app-1=http://127.0.0.1:9001")}
	group := NewTargetGroup("ignored", targets)
	group.HealthCheck.Interval = time.Second // the demo's, below ALB's 5s: the flags' ranges apply
	c := Shorthand("127.0.0.1:0", group)
	equal(t, "group name", c.TargetGroups[0].Name, DefaultGroup)
	equal(t, "interval", c.TargetGroups[0].HealthCheck.Interval, time.Second)
	equal(t, "default forward", forwardNames(c.Listener.DefaultAction), "default:1")
	equal(t, "protocol", c.Listener.Protocol, HTTP)
	equal(t, "rules", len(c.Listener.Rules), 0)
	equal(t, "lookup", c.TargetGroup(DefaultGroup), c.TargetGroups[0])
}

func TestParseTarget(t *testing.T) {
	cases := []struct{ in, name, url, err string }{
		{"app-1=http://127.0.0.1:9001", "app-1", "http://127.0.0.1:9001", ""},
		{"http://app2:8080", "app2:8080", "http://app2:8080", ""},
		{"https://[::1]:8443/", "[::1]:8443", "https://[::1]:8443", ""},
		{"http://x:1/?a=b=c", "", "", "the URL must be scheme://host[:port] only, without path, query or user"},
		{"ftp://x", "", "", "want [name=]http://host:port or https://host:port"},
		{"a b=http://x:1", "", "", "the name must be 1 to 64 characters without spaces, commas or ="},
	}
	for _, tc := range cases {
		got, err := ParseTarget(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseTarget(%q): got error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.Name != tc.name || got.URL.String() != tc.url {
			t.Errorf("ParseTarget(%q): got %q %v %v, want %q %q", tc.in, got.Name, got.URL, err, tc.name, tc.url)
		}
	}
}

func TestMatcher(t *testing.T) {
	m, err := ParseMatcher("200,202, 300-399")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{200: true, 201: false, 202: true, 300: true, 399: true, 404: false} {
		if got := m.Match(code); got != want {
			t.Errorf("Match(%d): got %v, want %v", code, got, want)
		}
	}
	equal(t, "String", m.String(), "200,202,300-399")
}

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// forwardNames writes a forward action's groups as "name:weight ...".
func forwardNames(a Action) string {
	if a.Forward == nil {
		return a.Type()
	}
	var s []string
	for _, g := range a.Forward.TargetGroups {
		s = append(s, g.Name+":"+strconv.Itoa(g.Weight))
	}
	return strings.Join(s, " ")
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

func TestCertificateFilesRelativeToTheFile(t *testing.T) {
	doc := "listener:\n  listen: \"[::1]:8443\"\n  protocol: HTTPS\n  certificate: {cert_file: tls/cert.pem, key_file: /etc/key.pem}\n  default_action: {fixed_response: {status_code: 404}}\n"
	c, err := Parse(filepath.Join("conf", "lb.yaml"), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "certificate", *c.Listener.Certificate, Certificate{CertFile: filepath.Join("conf", "tls", "cert.pem"), KeyFile: "/etc/key.pem"})
	equal(t, "port", c.Listener.Port(), 8443)
}

// TestMergeKeys checks YAML merge keys: a mapping's own keys win over
// merged ones, and a mistake in a merged value is reported where it is
// written.
func TestMergeKeys(t *testing.T) {
	const listener = "listener: {default_action: {forward: {target_group: web}}}\n"
	c, err := Parse("x.yaml", []byte(listener+`x-group: &group
  targets: [http://127.0.0.1:9001]
  algorithm: least_outstanding_requests
target_groups:
  - <<: *group
    name: web
    algorithm: round_robin
  - <<: [*group]
    name: api
`))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "own key wins", c.TargetGroup("web").Algorithm, RoundRobin)
	equal(t, "merged key", c.TargetGroup("api").Algorithm, LeastOutstandingRequests)
	equal(t, "merged targets", c.TargetGroup("api").Targets[0].URL.String(), "http://127.0.0.1:9001")

	cases := []struct{ name, doc, want string }{
		{"mistake in the merged mapping", "x-group: &group\n  targets: []\n  algorithm: random\ntarget_groups:\n  - <<: *group\n    name: web\n",
			`x.yaml:4:14: target_groups[0].algorithm: "random" is not allowed; want round_robin, least_outstanding_requests or weighted_random`},
		{"merge of a list", "x-targets: &targets [http://127.0.0.1:9001]\ntarget_groups:\n  - <<: *targets\n    name: web\n",
			"x.yaml:4:5: target_groups[0].<<: want a mapping or a list of them to merge, such as *defaults"},
		{"own key twice", "target_groups:\n  - {name: web, targets: [], name: api}\n",
			"x.yaml:3:30: target_groups[0].name: given twice (first on line 3)"},
		{"unknown top-level key without x-", "defaults: {}\n", "x.yaml:2:1: defaults: unknown key; allowed: listener, target_groups"},
	}
	for _, tc := range cases {
		_, err := Parse("x.yaml", []byte(listener+tc.doc))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Parse:\n got %v\nwant %s", tc.name, err, tc.want)
		}
	}
}
