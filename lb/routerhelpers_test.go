package lb

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"stickylab/lb/listener"
)

// runningRouter is a Router served on loopback ports for one test.
type runningRouter struct {
	*Router
	url   string // the listener
	admin string // the admin API
}

// serveRouter parses yaml, in which each {app-N} stands for the URL of
// backend app-N of bs, checks the groups' health every 50ms (the file's
// minimum is ALB's 5s), calls prepare (when not nil) before it serves,
// serves it until the test ends, and waits until the targets whose backend
// is healthy are.
func serveRouter(t *testing.T, yaml string, bs []*backend, base Config, prepare ...func(*Router)) *runningRouter {
	t.Helper()
	for _, b := range bs {
		yaml = strings.ReplaceAll(yaml, "{"+b.name+"}", b.url.String())
	}
	file, err := listener.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	for _, tg := range file.TargetGroups {
		tg.HealthCheck.Interval, tg.HealthCheck.Timeout = 50*time.Millisecond, 40*time.Millisecond
	}
	rt, err := NewRouter(file, base)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	for _, f := range prepare {
		f(rt)
	}
	pl, al := listen(t), listen(t)
	serveInTest(t, func(ctx context.Context) error { return rt.Serve(ctx, pl, al) })
	r := &runningRouter{Router: rt, url: "http://" + pl.Addr().String(), admin: "http://" + al.Addr().String()}
	healthy := map[string]bool{}
	for _, b := range bs {
		healthy[b.name] = b.healthy.Load()
	}
	waitFor(t, "every target of every group healthy, but those whose backend is not", func() bool {
		for _, g := range rt.TargetGroups() {
			for _, ts := range g.Targets {
				if healthy[ts.Name] && ts.State != StateHealthy {
					return false
				}
			}
		}
		return true
	})
	return r
}

// groupTarget returns the status of target name in group tg.
func (r *runningRouter) groupTarget(tg, name string) TargetStatus {
	for _, g := range r.TargetGroups() {
		if g.Name != tg {
			continue
		}
		for _, ts := range g.Targets {
			if ts.Name == name {
				return ts
			}
		}
	}
	return TargetStatus{}
}

// adminJSON sends a request to the admin API and decodes its JSON answer
// into out (when not nil); it returns the status.
func adminJSON(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}
