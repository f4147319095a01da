package lb

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"stickylab/internal/unusedconn"
)

// TestHubRing: a subscriber reads what was published since its cursor; one
// that fell more than the ring behind gets the latest ring's worth and the
// rest is counted as dropped.
func TestHubRing(t *testing.T) {
	var h hub
	cursor, err := h.join(true)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, wake := h.read(cursor, nil); wake == nil {
		t.Fatal("read with nothing published: got no wake channel, want one")
	}
	const n = eventRing + 44
	for i := range n {
		h.publish(Event{Path: fmt.Sprint(i)})
	}
	got, cursor, wake := h.read(cursor, nil)
	if wake != nil || len(got) != eventRing || got[0].Path != "44" || got[len(got)-1].Path != fmt.Sprint(n-1) {
		t.Fatalf("got %d events from %q to %q, want %d from 44 to %d", len(got), got[0].Path, got[len(got)-1].Path, eventRing, n-1)
	}
	if d := h.dropped.Load(); d != 44 {
		t.Errorf("dropped: got %d, want 44", d)
	}
	h.publish(Event{Path: "next"})
	if got, _, _ = h.read(cursor, got[:0]); len(got) != 1 || got[0].Path != "next" {
		t.Errorf("after one more: got %v, want just it", got)
	}
}

// TestHubWakes: a waiting subscriber is woken by the next publish.
func TestHubWakes(t *testing.T) {
	var h hub
	cursor, _ := h.join(true)
	_, _, wake := h.read(cursor, nil)
	h.publish(Event{Path: "x"})
	select {
	case <-wake:
	default:
		t.Fatal("the wake channel is still open after a publish")
	}
}

// TestEventStreamsCapped: past MaxEventSubscribers, GET /api/events answers
// 503 with a JSON error; a stream that ends frees its place.
func TestEventStreamsCapped(t *testing.T) {
	_, ts := backends(t, 1)
	r := serve(t, Config{Targets: ts, MaxEventSubscribers: 2})
	open := func() *http.Response {
		resp, err := http.Get(r.admin + "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	a, b := open(), open()
	defer b.Body.Close()
	c := open()
	body := new(strings.Builder)
	bufio.NewReader(c.Body).WriteTo(body)
	c.Body.Close()
	if c.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.String(), `"error"`) {
		t.Fatalf("third stream: got %d %s, want 503 with a JSON error", c.StatusCode, body)
	}
	a.Body.Close()
	waitFor(t, "the first stream to end", func() bool { return r.events.active.Load() == 1 })
	d := open()
	defer d.Body.Close()
	if d.StatusCode != http.StatusOK {
		t.Errorf("a stream after one ended: got %d, want 200", d.StatusCode)
	}
}

// TestSilentSubscribersCostNothing: streams that never read do not hold up
// proxying, and what they cost in memory is bounded, whatever they miss:
// their missed events are counted, and their places come back when they go.
func TestSilentSubscribersCostNothing(t *testing.T) {
	_, ts := backends(t, 2)
	const subscribers = 50
	r := serve(t, Config{Targets: ts, MaxEventSubscribers: subscribers})
	before := heapAlloc()
	var conns []net.Conn
	for range subscribers {
		c, err := net.Dial("tcp", strings.TrimPrefix(r.admin, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Subscribes and then never reads.
		fmt.Fprintf(c, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		conns = append(conns, c)
	}
	waitFor(t, "every subscriber", func() bool { return r.events.active.Load() == subscribers })

	// Requests with long paths, so that the events overflow the silent
	// streams' socket buffers (a few megabytes on loopback) quickly.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a hang guard, not a measure
	defer cancel()
	client := &http.Client{}
	path := "/" + strings.Repeat("p", 8000)
	const requests = 3000
	for i := range requests {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.url+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d with %d silent subscribers: %v", i, subscribers, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: got status %d, want 200", i, resp.StatusCode)
		}
	}
	// The ring, and at most one ring's worth of events being written per
	// subscriber (2 MB each with these paths), whatever the number of
	// requests.
	const limit = (subscribers + 1) * eventRing * 8 << 10
	if grew := int64(heapAlloc()) - int64(before); grew > limit {
		t.Errorf("the heap grew by %d bytes with %d silent subscribers, want at most %d", grew, subscribers, limit)
	}
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, "the silent subscribers to be gone", func() bool { return r.events.active.Load() == 0 })
	// Each missed most of the events: far more than its socket buffers
	// took in.
	if d := r.events.dropped.Load(); d < subscribers*requests/2 {
		t.Errorf("dropped: got %d events, want most of the %d that %d silent subscribers missed", d, subscribers*requests, subscribers)
	}
}

// TestEventStreamFindsTCPConn: the connection serveEvents sets a small send
// buffer on is the accepted *net.TCPConn, also through the admin listener's
// wrapper (internal/unusedconn). Behind it, unwrapped, a stream whose
// client never reads took the kernel's growing buffer and went on
// encoding and writing every event: 100 such streams cost the proxy a
// sixth of its requests/s (scripts/bench-lb.sh, 0.84x and 0.87x of none).
func TestEventStreamFindsTCPConn(t *testing.T) {
	l := unusedconn.NewListener(listen(t))
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	accepted, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	got := withAdminConn(t.Context(), accepted).Value(adminConnKey{})
	if _, ok := got.(*net.TCPConn); !ok {
		t.Errorf("withAdminConn keeps a %T, want the *net.TCPConn that serveEvents sets the send buffer of", got)
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestHubEncodesOnceOffTheRequestPath: publishing encodes nothing, even with
// a stream open; the first stream to read an event keeps its encoding in the
// ring for the others, and an encoding of an event that has left the ring is
// not kept in the slot of the one that replaced it.
func TestHubEncodesOnceOffTheRequestPath(t *testing.T) {
	var h hub
	cursor, err := h.join(true)
	if err != nil {
		t.Fatal(err)
	}
	h.publish(Event{Kind: "request", Target: "app-1", Status: 200})
	if h.ring[0].sse != nil {
		t.Fatal("publish encoded the event: the request path pays for the streams")
	}
	batch, _, _ := h.read(cursor, nil)
	if len(batch) != 1 || batch[0].sse != nil {
		t.Fatalf("first read: %d events, encoding %q; want 1 event, not yet encoded", len(batch), batch[0].sse)
	}
	batch[0].sse = appendEvent(nil, batch[0].Event)
	h.remember(batch)
	again, _, _ := h.read(cursor, nil)
	if string(again[0].sse) != string(batch[0].sse) || !strings.Contains(string(again[0].sse), `"target":"app-1"`) {
		t.Fatalf("second read: encoding %q, want the first stream's %q", again[0].sse, batch[0].sse)
	}

	// The ring moves on past the event: its slot holds another one, whose
	// encoding remember must not take from the old event.
	for range eventRing {
		h.publish(Event{Kind: "request", Target: "app-2"})
	}
	h.remember([]published{{Event: Event{Kind: "request", Target: "app-1"}, seq: 0, sse: []byte("stale")}})
	if slot := h.ring[0]; slot.seq != eventRing || slot.sse != nil {
		t.Fatalf("slot 0 after the ring moved on: seq %d, encoding %q; want event %d, not encoded", slot.seq, slot.sse, eventRing)
	}
}
