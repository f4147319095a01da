package lb

import (
	"encoding/json"
	"net/http"
	"time"
)

// heartbeatInterval is how often an idle event stream gets a comment line,
// so that proxies and browsers keep it open and a gone client is noticed.
const heartbeatInterval = 15 * time.Second

// serveEvents streams events as server-sent events: "event: <kind>" and
// "data: <Event JSON>" per event, a ": heartbeat" comment when idle. It ends
// with the request's context (client gone, or the admin server shutting
// down). A client that reads too slowly misses events rather than slowing
// the balancer.
func (b *Balancer) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	events, cancel := b.Subscribe()
	defer cancel()
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
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			_, err = w.Write([]byte(": heartbeat\n\n"))
		case e := <-events:
			err = writeEvent(w, e)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, e Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(data)+len(e.Kind)+16)
	buf = append(buf, "event: "...)
	buf = append(buf, e.Kind...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	_, err = w.Write(buf)
	return err
}
