package lb

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminTargets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts})
		waitHealthy(t, r)
		do(t, http.DefaultClient, "GET", r.url+"/", nil)
		resp, body := do(t, http.DefaultClient, "GET", r.admin+"/api/targets", nil)
		var got struct{ Targets []TargetStatus }
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /api/targets = %d %s", resp.StatusCode, body)
		}
		if len(got.Targets) != 2 || got.Targets[0].Name != "app-1" || got.Targets[0].State != "healthy" || got.Targets[0].URL != ts[0].URL.String() {
			t.Errorf("targets %+v, want app-1 and app-2 healthy with their URLs", got.Targets)
		}
		if got.Targets[0].Requests+got.Targets[1].Requests != 1 {
			t.Errorf("requests %d + %d, want 1 in all", got.Targets[0].Requests, got.Targets[1].Requests)
		}

		// Every error is JSON, the router's own 404 and 405 included.
		cases := []struct {
			method, path string
			want         int
			allow        string
		}{
			{"POST", "/api/targets/nope/drain", http.StatusNotFound, ""},
			{"GET", "/api/targets/app-1/drain", http.StatusMethodNotAllowed, "POST"},
			{"DELETE", "/api/stickiness", http.StatusMethodNotAllowed, "GET, PUT, HEAD"},
			{"GET", "/nope", http.StatusNotFound, ""},
		}
		for _, tc := range cases {
			resp, body := do(t, http.DefaultClient, tc.method, r.admin+tc.path, nil)
			var e struct{ Error string }
			if resp.StatusCode != tc.want || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
				t.Errorf("%s %s = %d %q, want %d and a JSON error", tc.method, tc.path, resp.StatusCode, body, tc.want)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		}
	})
}

// TestAdminRefusesCrossOrigin: a page of another site open in the user's
// browser can make it send requests to a loopback admin API; changes from
// there are refused, while the dashboard's own requests and curl's pass.
func TestAdminRefusesCrossOrigin(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts})
		refused := []map[string]string{
			{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
			{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"}, // another port of this host
			{"Origin": "http://evil.example"},                               // an older browser: Origin against Host
		}
		for _, hdr := range refused {
			for _, req := range [][2]string{{"POST", "/api/targets/app-1/drain"}, {"PUT", "/api/stickiness"}} {
				resp, body := do(t, http.DefaultClient, req[0], r.admin+req[1], hdr)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error"`) {
					t.Errorf("%s %s with %v = %d %s, want 403 and a JSON error", req[0], req[1], hdr, resp.StatusCode, body)
				}
			}
		}
		if st := r.Targets()[0].State; st != "healthy" && st != "initial" {
			t.Fatalf("app-1 is %s after refused drains, want it untouched", st)
		}
		// A cross-site page may still read nothing and change nothing, but a
		// GET is harmless and stays open (the dashboard's EventSource).
		if resp, _ := do(t, http.DefaultClient, "GET", r.admin+"/api/targets", map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != 200 {
			t.Errorf("cross-site GET /api/targets = %d, want 200", resp.StatusCode)
		}
		passed := []map[string]string{
			{"Sec-Fetch-Site": "same-origin", "Origin": r.admin}, // the dashboard's buttons
			nil, // curl
		}
		for i, hdr := range passed {
			name := []string{"app-1", "app-2"}[i]
			if resp, body := do(t, http.DefaultClient, "POST", r.admin+"/api/targets/"+name+"/drain", hdr); resp.StatusCode != http.StatusAccepted {
				t.Errorf("POST drain with %v = %d %s, want 202", hdr, resp.StatusCode, body)
			}
		}
	})
}

func TestAdminStickiness(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts})
		cases := []struct {
			name, body string
			want       int
			wantBody   string
		}{
			{"duration", `{"mode":"duration","duration":"2h"}`, 200, `{"mode":"duration","duration":"2h","app_cookie":""}`},
			{"app needs cookie", `{"mode":"app"}`, 400, `app_cookie`},
			{"reserved cookie", `{"mode":"app","app_cookie":"AWSALBAPP-9"}`, 400, `reserved`},
			{"app", `{"mode":"app","app_cookie":"sid"}`, 200, `{"mode":"app","duration":"2h","app_cookie":"sid"}`},
			{"bad mode", `{"mode":"sticky"}`, 400, `mode`},
			{"bad duration", `{"duration":"forever"}`, 400, `duration`},
			{"duration too long", `{"duration":"169h"}`, 400, `1s to 168h`},
			{"unknown field", `{"mode":"none","x":1}`, 400, `JSON`},
			{"not JSON", `mode=none`, 400, `JSON`},
			{"two objects", `{"mode":"none"}{}`, 400, `one JSON object`},
			{"none keeps the rest", `{"mode":"none"}`, 200, `{"mode":"none","duration":"2h","app_cookie":"sid"}`},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("PUT", r.admin+"/api/stickiness", strings.NewReader(tc.body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var b strings.Builder
				bufio.NewReader(resp.Body).WriteTo(&b)
				if resp.StatusCode != tc.want || !strings.Contains(b.String(), tc.wantBody) {
					t.Errorf("PUT %s = %d %s, want %d containing %s", tc.body, resp.StatusCode, b.String(), tc.want, tc.wantBody)
				}
			})
		}
		if _, body := do(t, http.DefaultClient, "GET", r.admin+"/api/stickiness", nil); strings.TrimSpace(body) != `{"mode":"none","duration":"2h","app_cookie":"sid"}` {
			t.Errorf("GET /api/stickiness = %s", body)
		}
	})
}

// TestSetStickyAtRunTime: switching the mode changes the next request.
func TestSetStickyAtRunTime(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts})
		if resp, _ := do(t, http.DefaultClient, "GET", r.url+"/", nil); len(resp.Header.Values("Set-Cookie")) != 0 {
			t.Fatalf("mode none set cookies %q", resp.Header.Values("Set-Cookie"))
		}
		if err := r.SetSticky(StickyDuration); err != nil {
			t.Fatal(err)
		}
		if resp, _ := do(t, http.DefaultClient, "GET", r.url+"/", nil); setCookies(resp)["AWSALB"] == "" {
			t.Errorf("after SetSticky(duration) no AWSALB cookie")
		}
		if err := r.SetSticky(StickyApp); err == nil {
			t.Errorf("SetSticky(app) without an app cookie succeeded")
		}
	})
}

// TestEventStream reads the server-sent events of GET /api/events: one per
// request with target, sticky decision and status, one per state change.
func TestEventStream(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration})
		waitHealthy(t, r)
		resp, err := http.Get(r.admin + "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("Content-Type %q, want text/event-stream", ct)
		}
		lines := make(chan string, 64)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		next := func(kind string) map[string]any {
			t.Helper()
			timeout := time.After(10 * time.Second)
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("stream ended waiting for a %s event", kind)
					}
					if l != "event: "+kind {
						continue
					}
					data := strings.TrimPrefix(<-lines, "data: ")
					var m map[string]any
					if err := json.Unmarshal([]byte(data), &m); err != nil {
						t.Fatalf("event data %q: %v", data, err)
					}
					return m
				case <-timeout:
					t.Fatalf("no %s event", kind)
				}
			}
		}
		waitFor(t, "the subscriber", func() bool { return r.events.wanted() })
		c := newClient(t)
		_, body := do(t, c, "GET", r.url+"/hello?secret=1", nil)
		e := next("request")
		if e["target"] != body || e["sticky"] != "new" || e["status"] != 200.0 || e["path"] != "/hello" || e["method"] != "GET" {
			t.Errorf("request event %v, want target %s, sticky new, status 200, path /hello", e, body)
		}
		client := e["client"]
		do(t, c, "GET", r.url+"/", nil)
		if e = next("request"); e["sticky"] != "stuck" || e["client"] != client {
			t.Errorf("second request event %v, want stuck and the same client %v", e, client)
		}
		r.Drain("app-2")
		if e = next("target"); e["target"] != "app-2" || e["state"] != "draining" || e["prev_state"] != "healthy" {
			t.Errorf("target event %v, want app-2 healthy -> draining", e)
		}
	})
}

// TestEventStreamEndsOnShutdown: an open event stream does not hold up the
// graceful shutdown.
func TestEventStreamEndsOnShutdown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 1)
		r := serve(t, Config{Engine: engine, Targets: ts})
		resp, err := http.Get(r.admin + "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r.stop()
		if _, err := bufio.NewReader(resp.Body).ReadString(0); err == nil {
			t.Error("event stream still open after shutdown")
		}
	})
}

func TestMetrics(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration})
		waitHealthy(t, r)
		c := newClient(t)
		do(t, c, "GET", r.url+"/", nil)
		do(t, c, "GET", r.url+"/", nil)
		do(t, c, "GET", r.url+"/fail", nil)
		r.SetSticky(StickyNone)
		r.Drain("app-1")
		r.Drain("app-2")
		waitFor(t, "both unused", func() bool { return targetState(r, "app-2") == "unused" && targetState(r, "app-1") == "unused" })
		if resp, _ := do(t, c, "GET", r.url+"/", nil); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("no registered target: status %d, want 503", resp.StatusCode)
		}
		_, body := do(t, http.DefaultClient, "GET", r.admin+"/metrics", nil)
		for _, want := range []string{
			`stickylab_lb_non_sticky_requests_total 1`,
			`stickylab_lb_sticky_decisions_total{decision="stuck"} 2`,
			`stickylab_lb_target_responses_total{code="5xx",target="app-1"} 1`,
			`stickylab_lb_elb_responses_total{code="503"} 1`,
			`stickylab_lb_healthy_host_count 0`,
			`stickylab_lb_target_response_time_seconds_count{target="app-1"} 3`,
			`stickylab_lb_requests_total{target="app-1"} 3`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})
}
