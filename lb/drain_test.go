package lb

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestDrainMovesStickyClients: a drained target gets no new request at
// once, sticky clients included, while its in-flight request finishes; it
// becomes unused when nothing is in flight any more, and can be registered
// again.
func TestDrainMovesStickyClients(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration, DeregistrationDelay: time.Minute})
		waitHealthy(t, r)
		c := newClient(t)
		_, bound := do(t, c, "GET", r.url+"/", nil)
		var be *backend
		for _, b := range bs {
			if b.name == bound {
				be = b
			}
		}

		// A slow request in flight on the bound target.
		slow := make(chan string, 1)
		go func() {
			resp, err := c.Get(r.url + "/slow")
			if err != nil {
				slow <- err.Error()
				return
			}
			resp.Body.Close()
			slow <- resp.Status
		}()
		<-be.entered

		resp, body := do(t, http.DefaultClient, "POST", r.admin+"/api/targets/"+bound+"/drain", nil)
		var st TargetStatus
		json.Unmarshal([]byte(body), &st)
		if resp.StatusCode != http.StatusAccepted || st.State != "draining" || st.InFlight != 1 {
			t.Fatalf("drain answered %d %s, want 202 with state draining and 1 in flight", resp.StatusCode, body)
		}
		for i := range 6 {
			if _, got := do(t, c, "GET", r.url+"/", nil); got == bound {
				t.Fatalf("request %d of the sticky client went to draining %s", i, bound)
			}
		}
		if got := targetState(r, bound); got != "draining" {
			t.Errorf("state %s with a request in flight, want draining", got)
		}
		close(be.release)
		if got := <-slow; got != "200 OK" {
			t.Errorf("in-flight request on the draining target got %s, want 200 OK", got)
		}
		waitFor(t, bound+" unused once idle", func() bool { return targetState(r, bound) == "unused" })

		resp, _ = do(t, http.DefaultClient, "POST", r.admin+"/api/targets/"+bound+"/register", nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("register answered %d, want 200", resp.StatusCode)
		}
		waitFor(t, bound+" healthy after registering again", func() bool { return targetState(r, bound) == "healthy" })
	})
}

// TestDrainDelayEnds: a target whose request outlives the delay becomes
// unused when the delay is over.
func TestDrainDelayEnds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts, DeregistrationDelay: 100 * time.Millisecond})
		waitHealthy(t, r)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				resp, err := http.Get(r.url + "/slow")
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.Header.Get("X-Backend") == "app-1" {
					return
				}
			}
		}()
		<-bs[0].entered
		if _, ok := r.Drain("app-1"); !ok {
			t.Fatal("Drain(app-1) found no target")
		}
		waitFor(t, "app-1 unused after the delay", func() bool { return targetState(r, "app-1") == "unused" })
		if n := r.Targets()[0].InFlight; n != 1 {
			t.Errorf("app-1 has %d in flight, want its slow request still running", n)
		}
		close(bs[0].release)
		close(bs[1].release)
		<-done
		if _, ok := r.Drain("nope"); ok {
			t.Error("Drain(nope) found a target")
		}
	})
}
