package lb

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"stickylab/internal/jsonhttp"
)

// heartbeatInterval is how often an idle event stream gets a comment line,
// so that proxies and browsers keep it open and a gone client is noticed.
const heartbeatInterval = 15 * time.Second

// streamSendBuffer is the kernel's send buffer of an event stream's
// connection. Left to itself it grows to megabytes on a connection whose
// client does not read, and the stream would go on encoding and writing
// until all of that is full; with a small one, a stream that is not read
// blocks after a few dozen kilobytes and costs nothing more.
const streamSendBuffer = 32 << 10

// adminConnKey is the context key of the admin connection a request came
// on, for serveEvents.
type adminConnKey struct{}

// withAdminConn is the admin server's ConnContext: it keeps in ctx the
// connection c wraps, if it wraps one (the listener's wrapper that closes
// unused connections at shutdown, internal/unusedconn), else c: the one
// whose send buffer serveEvents sets.
func withAdminConn(ctx context.Context, c net.Conn) context.Context {
	for {
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = w.NetConn()
	}
	return context.WithValue(ctx, adminConnKey{}, c)
}

// streamInterval is the least time between two writes of an event stream:
// under load a stream wakes and writes at most this often, whatever the
// request rate, so that what the streams cost does not grow with the
// traffic; at more than a ring's worth of events per interval, a stream
// misses the oldest (counted).
const streamInterval = 50 * time.Millisecond

// serveEvents streams events as server-sent events: "event: <kind>" and
// "data: <Event JSON>" per event, a ": heartbeat" comment when idle. It ends
// with the request's context (client gone, or the admin server shutting
// down). It reads the hub's ring at its own pace and writes what arrived
// since its last write in one go: a client that reads too slowly misses
// events (counted) rather than slowing the balancer or growing its memory.
// Past Config.MaxEventSubscribers streams at once, it answers 503.
func (b *Balancer) serveEvents(w http.ResponseWriter, r *http.Request) {
	cursor, err := b.events.join(true)
	if err != nil {
		jsonhttp.Error(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams at once (at most %d): close a dashboard or stream first", b.events.limit()))
		return
	}
	defer func() { b.events.leave(true, cursor) }()
	if c, ok := r.Context().Value(adminConnKey{}).(*net.TCPConn); ok {
		c.SetWriteBuffer(streamSendBuffer) // best effort: the stream works without it
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(": stickylab lb events\n\n")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(heartbeatInterval)
	defer beat.Stop()
	pause := time.NewTimer(0)
	defer pause.Stop()
	var batch []published
	var buf []byte
	for {
		// Batch what arrives within streamInterval of the last write.
		select {
		case <-r.Context().Done():
			return
		case <-pause.C:
		}
		var wake <-chan struct{}
		batch, cursor, wake = b.events.read(cursor, batch[:0])
		buf = buf[:0]
		if wake != nil {
			select {
			case <-r.Context().Done():
				return
			case <-wake:
				pause.Reset(streamInterval)
				continue
			case <-beat.C:
				buf = append(buf, ": heartbeat\n\n"...)
			}
		}
		encoded := false
		for i := range batch {
			if batch[i].sse == nil {
				// First to read it: encode it, and keep the encoding
				// for the other streams (remember).
				batch[i].sse = appendEvent(nil, batch[i].Event)
				encoded = true
			}
			buf = append(buf, batch[i].sse...)
		}
		if encoded {
			b.events.remember(batch)
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		pause.Reset(streamInterval)
	}
}

// appendEvent appends e to buf as one server-sent event.
func appendEvent(buf []byte, e Event) []byte {
	// Event.MarshalJSON marshals only strings, numbers and a time: it
	// cannot fail.
	data, _ := json.Marshal(e)
	buf = append(buf, "event: "...)
	buf = append(buf, e.Kind...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	return append(buf, "\n\n"...)
}
