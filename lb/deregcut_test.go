package lb

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDeregistrationDelayCutsInFlight: under a configuration file, a
// request still in flight when its target's deregistration delay ends is
// cut, and the client gets 502, as on ALB; the request's event and the
// target's state change say so.
func TestDeregistrationDelayCutsInFlight(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, _ := backends(t, 2)
		r := serveRouter(t, `
listener: {default_action: {forward: {target_group: g}}}
target_groups: [{name: g, deregistration_delay: 1s, targets: [app-1={app-1}]}]
`, bs, Config{Engine: engine})
		events, cancel := r.Subscribe()
		defer cancel()
		status := make(chan int, 1)
		go func() {
			resp, err := http.Get(r.url + "/slow")
			if err != nil {
				status <- 0
				return
			}
			resp.Body.Close()
			status <- resp.StatusCode
		}()
		<-bs[0].entered
		if code := adminJSON(t, "POST", r.admin+"/api/target-groups/g/targets/app-1/drain", "", nil); code != http.StatusAccepted {
			t.Fatalf("drain: status %d", code)
		}
		// The target holds it until the test ends, and the balancer
		// waits 60s for an answer: a cut comes well before.
		select {
		case got := <-status:
			if got != http.StatusBadGateway {
				t.Errorf("the in-flight request got %d when the delay ended, want 502", got)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the in-flight request was not cut when the 1s deregistration delay ended")
		}
		var sawRequest, sawTarget bool
		timeout := time.After(10 * time.Second)
		for !sawRequest || !sawTarget {
			var e Event
			select {
			case e = <-events:
			case <-timeout:
				t.Fatalf("no events for the cut request (%v) or the target's end of drain (%v)", sawRequest, sawTarget)
			}
			switch {
			case e.Kind == EventRequest && e.Path == "/slow":
				sawRequest = true
				if e.Status != 502 || !strings.Contains(e.Reason, "deregistration delay over: request cut") {
					t.Errorf("request event %+v, want status 502 and a reason saying the delay cut it", e)
				}
			case e.Kind == EventTarget && e.State == StateUnused:
				sawTarget = true
				if !strings.Contains(e.Reason, "1 in-flight request cut with 502") {
					t.Errorf("target event reason %q, want it to say one request was cut", e.Reason)
				}
			}
		}
	})
}
