package lab

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDemoNodesKeepClientOnItsTarget: with -lb-nodes 2, a client (a cookie
// jar, as a browser) that alternates between the two balancer nodes stays
// on the instance that served it first and stays logged in, with either
// stickiness: each node reads the cookie the other wrote (one set of cookie
// keys). The sessions are in each instance's memory, so a client moved to
// another instance would be logged out. GET /api/nodes lists both nodes,
// at the addresses of the banner, each with its own view of the instances.
func TestDemoNodesKeepClientOnItsTarget(t *testing.T) {
	for _, sticky := range []string{"app", "duration"} {
		t.Run(sticky, func(t *testing.T) {
			d := startDemo(t, "-lb-nodes", "2", "-sticky", sticky, "-store", "memory")
			m := regexp.MustCompile(`(?m)^\s+lb-2\s+(http://\S+)/`).FindStringSubmatch(d.banner)
			if m == nil {
				t.Fatalf("no lb-2 in the banner:\n%s", d.banner)
			}
			nodes := []string{d.app, m[1]}

			resp, err := http.Get(d.admin + "/api/nodes")
			if err != nil {
				t.Fatal(err)
			}
			var list []NodeView
			err = json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			if err != nil || len(list) != 2 {
				t.Fatalf("GET /api/nodes: %v %+v, want two nodes", err, list)
			}
			for i, n := range list {
				if want := "lb-" + string(rune('1'+i)); n.Name != want || "http://"+n.Listen != nodes[i] || len(n.Targets) != 2 {
					t.Errorf("GET /api/nodes [%d]: %s on %s with %d targets, want %s on %s with 2", i, n.Name, n.Listen, len(n.Targets), want, nodes[i])
				}
			}

			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Timeout: 5 * time.Second}
			session := func(base, method, path, body string) sessionView {
				t.Helper()
				return askSession(t, client, method, base+path, body)
			}
			first := session(nodes[0], "POST", "/api/login", `{"username":"ada"}`)
			for i := range 12 {
				node := nodes[(i+1)%2] // lb-2 first
				if s := session(node, "GET", "/api/session", ""); !s.LoggedIn || s.Instance != first.Instance {
					t.Fatalf("request %d, through %s: %+v, want logged in on %s", i+1, node, s, first.Instance)
				}
			}
		})
	}
}

// TestBrowserNodes: the dashboard of a demo with two balancer nodes shows
// both, each with the instances its own health checks find healthy: after
// a kill, each node sees it by itself.
func TestBrowserNodes(t *testing.T) {
	b := startBrowser(t)
	d := startDemo(t, "-lb-nodes", "2")
	ctx := b.ctx
	runBrowser(t, ctx, chromedp.Navigate(d.admin+"/"))
	const nodes = `[...document.querySelectorAll('#nodes-control:not([hidden]) .node')].map((n) => n.textContent)`
	pollDashboard(t, ctx, nodes+`.join('|').match(/2\/2 healthy/g)?.length === 2`)
	d.post(t, "/api/instances/app-1/kill")
	awaitDashboard(t, ctx, 3*browserStep, nodes+`.join('|').match(/1\/2 healthy/g)?.length === 2`)
	for _, e := range b.consoleErrors() {
		t.Errorf("console: %s", e)
	}
}
