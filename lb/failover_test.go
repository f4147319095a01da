package lb

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// loadResult counts the outcome of a bounded load of GETs.
type loadResult struct {
	ok, failed atomic.Int64
	byTarget   sync.Map // name -> *atomic.Int64
}

func (lr *loadResult) hits(name string) int64 {
	v, ok := lr.byTarget.Load(name)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// runLoad sends n GETs from workers goroutines to url, each with its own
// keep-alive connection and no cookies, and returns once all are answered.
func runLoad(url string, workers, n int, res *loadResult) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for next.Add(1) <= int64(n) {
				resp, err := client.Get(url)
				if err != nil {
					res.failed.Add(1)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					res.failed.Add(1)
					continue
				}
				res.ok.Add(1)
				v, _ := res.byTarget.LoadOrStore(string(body), new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
			}
		})
	}
	wg.Wait()
}

// TestPassiveFailoverKill: a target process is SIGKILLed in the middle of a
// load of GETs. With passive failover no request fails, although the health
// checks are far too slow to notice in time.
func TestPassiveFailoverKill(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		victim := startChild(t, "victim", "127.0.0.1:0")
		_, ts := backends(t, 2)
		ts = append(ts, Target{Name: victim.name, URL: victim.url})
		r := serve(t, Config{Engine: engine, Targets: ts, PassiveFailover: true, HealthInterval: time.Minute, HealthTimeout: time.Second})
		waitHealthy(t, r)

		var res loadResult
		done := make(chan struct{})
		go func() {
			defer close(done)
			runLoad(r.url+"/", 4, 3000, &res)
		}()
		waitFor(t, "the victim to serve part of the load", func() bool { return res.hits("victim") >= 50 })
		victim.kill(t)
		<-done

		if f := res.failed.Load(); f != 0 {
			t.Errorf("%d of %d requests failed with passive failover, want 0", f, f+res.ok.Load())
		}
		if got := targetState(r, "victim"); got != "unhealthy" {
			t.Errorf("victim is %s after refusing connections, want unhealthy (passive failover)", got)
		}
		t.Logf("served %d: victim %d before its death, app-1 %d, app-2 %d", res.ok.Load(), res.hits("victim"), res.hits("app-1"), res.hits("app-2"))
	})
}

// TestNoPassiveFailoverKill: without passive failover (ALB's behaviour) the
// clients of a dead target get 502 until the health checks mark it
// unhealthy; from then on no request fails.
func TestNoPassiveFailoverKill(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		victim := startChild(t, "victim", "127.0.0.1:0")
		_, ts := backends(t, 2)
		ts = append(ts, Target{Name: victim.name, URL: victim.url})
		r := serve(t, Config{Engine: engine, Targets: ts, HealthInterval: 300 * time.Millisecond, HealthTimeout: 200 * time.Millisecond, UnhealthyThreshold: 2})
		waitHealthy(t, r)
		changes := watchTargets(t, r)
		victim.kill(t)

		// Round robin sends every third request to the dead target until the
		// health checks have failed twice.
		var before loadResult
		for targetState(r, "victim") == "healthy" {
			runLoad(r.url+"/", 1, 3, &before)
		}
		if before.failed.Load() == 0 {
			t.Errorf("no request failed before the health checks noticed, want 502s as on ALB")
		}
		waitFor(t, "the victim's state change event", func() bool { return len(changes()) > 0 })
		if got := changes(); len(got) != 1 || got[0].State != "unhealthy" || got[0].Reason != "health check: connection refused" {
			t.Errorf("target events %+v, want one: victim unhealthy for the health check's connection refused", got)
		}
		var after loadResult
		runLoad(r.url+"/", 4, 300, &after)
		if f := after.failed.Load(); f != 0 {
			t.Errorf("%d requests failed after the victim was marked unhealthy, want 0", f)
		}
		if got := counterValue(t, r.metrics.elbResponses.WithLabelValues("502")); got != float64(before.failed.Load()) {
			t.Errorf("stickylab_lb_elb_responses_total{code=502} = %v, want %d", got, before.failed.Load())
		}
	})
}

// watchTargets collects the target events of r from now on; the returned
// function reads them. Request events are many and are read too, so that
// none is dropped.
func watchTargets(t *testing.T, r *running) func() []Event {
	events, cancel := r.Subscribe()
	var mu sync.Mutex // guards got
	var got []Event
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range events {
			if e.Kind == EventTarget {
				mu.Lock()
				got = append(got, e)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return func() []Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]Event(nil), got...)
	}
}

func TestClassify(t *testing.T) {
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	cases := []struct {
		name string
		err  error
		want failure
	}{
		{"refused", dial(syscall.ECONNREFUSED), failedRefused},
		{"dial timeout", dial(os.ErrDeadlineExceeded), failedRefused},
		{"unreachable", dial(syscall.EHOSTUNREACH), failedRefused},
		{"client left", context.Canceled, failedOther},
		{"slow target", os.ErrDeadlineExceeded, failedOther},
		{"reset after sending", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, failedNoAnswer},
		{"closed before answering", io.ErrUnexpectedEOF, failedNoAnswer},
	}
	for _, tc := range cases {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%s: classify = %d, want %d", tc.name, got, tc.want)
		}
	}
}
