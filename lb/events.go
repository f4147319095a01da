package lb

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Event kinds.
const (
	EventRequest    = "request"    // one proxied request (or one the balancer answered itself)
	EventTarget     = "target"     // a target changed state
	EventStickiness = "stickiness" // the stickiness setting changed
)

// Event is what Subscribe and GET /api/events deliver. Fields that do not
// apply to a kind are empty.
type Event struct {
	Time   time.Time
	Kind   string // EventRequest, EventTarget or EventStickiness
	Target string // the target's name; for stickiness events empty
	// TargetGroup is the target group under a Router (lb -config); empty
	// for a Balancer of its own (the flags' one pool).
	TargetGroup string
	// Rule is the listener rule that decided a request under a Router:
	// its priority, or "default" for the default action.
	Rule string

	// Request events.
	Client   string // short stable label of the client: from its sticky cookie, else a hash of its address and user agent
	Sticky   string // DecisionNew, DecisionStuck, DecisionRestuck, or DecisionNone ("") when stickiness is off
	Status   int    // status sent to the client; 460 when the client left first (ALB's code)
	Method   string
	Path     string // URL path only: queries may hold secrets
	Duration time.Duration
	Retries  int // passive failover retries on other targets

	// Target events (State and PrevState are StateHealthy …); Reason also
	// says what changed for stickiness events.
	State, PrevState string
	Reason           string
}

// MarshalJSON writes the event with snake_case names, the duration in
// milliseconds and empty fields left out.
func (e Event) MarshalJSON() ([]byte, error) {
	type wire struct {
		Time       time.Time `json:"time"`
		Kind       string    `json:"kind"`
		Target     string    `json:"target,omitempty"`
		Group      string    `json:"target_group,omitempty"`
		Rule       string    `json:"rule,omitempty"`
		Client     string    `json:"client,omitempty"`
		Sticky     string    `json:"sticky,omitempty"`
		Status     int       `json:"status,omitempty"`
		Method     string    `json:"method,omitempty"`
		Path       string    `json:"path,omitempty"`
		DurationMS float64   `json:"duration_ms,omitempty"`
		Retries    int       `json:"retries,omitempty"`
		State      string    `json:"state,omitempty"`
		PrevState  string    `json:"prev_state,omitempty"`
		Reason     string    `json:"reason,omitempty"`
	}
	return json.Marshal(wire{
		Time: e.Time, Kind: e.Kind, Target: e.Target, Group: e.TargetGroup, Rule: e.Rule, Client: e.Client, Sticky: e.Sticky,
		Status: e.Status, Method: e.Method, Path: e.Path,
		DurationMS: float64(e.Duration.Microseconds()) / 1000, Retries: e.Retries,
		State: e.State, PrevState: e.PrevState, Reason: e.Reason,
	})
}

// eventRing is how many of the latest events the hub keeps. A subscriber
// that falls further behind misses the oldest (counted as drops).
const eventRing = 256

// DefaultMaxEventSubscribers is the default of Config.MaxEventSubscribers.
const DefaultMaxEventSubscribers = 100

// errTooManySubscribers is subscribe's answer past the cap.
var errTooManySubscribers = errors.New("lb: too many event subscribers")

// hub fans events out to subscribers through one ring of the latest events.
// Publishing costs the same whatever the number of subscribers, and never
// waits for one: each reads the ring at its own pace from its own cursor,
// and one that falls more than the ring behind skips what it missed (the
// skipped events are counted in dropped). An event is encoded for the event
// streams by the first stream that reads it, which keeps the encoding in the
// ring for the others (remember): once per event, not once per stream, and
// never on the request path, so that streams whose clients stopped reading
// cost the requests nothing. Memory is the ring, plus at most a ring's worth
// per subscriber while it writes a batch out.
type hub struct {
	max     int          // the most event streams at once; 0 or less means DefaultMaxEventSubscribers
	active  atomic.Int32 // subscribers of any kind, read without the lock on the request path
	streams atomic.Int32 // of which event streams (capped)
	dropped atomic.Uint64

	mu   sync.Mutex // guards ring, next and wake
	ring [eventRing]published
	next uint64        // sequence number of the next event published
	wake chan struct{} // closed by the next publish; nil when nobody waits
}

// published is an event in the ring: its sequence number, and its
// server-sent event encoding once a stream has made it (nil before).
type published struct {
	Event
	seq uint64
	sse []byte
}

// wanted reports whether anyone listens, so that the request path builds no
// event when no one does.
func (h *hub) wanted() bool { return h.active.Load() > 0 }

func (h *hub) publish(e Event) {
	h.mu.Lock()
	h.ring[h.next%eventRing] = published{Event: e, seq: h.next}
	h.next++
	wake := h.wake
	h.wake = nil
	h.mu.Unlock()
	if wake != nil {
		close(wake)
	}
}

// join registers a subscriber, or refuses one past the cap when it is an
// event stream (the admin API's subscribers: anyone who can reach it). Its
// cursor starts at the next event.
func (h *hub) join(stream bool) (cursor uint64, err error) {
	if stream {
		limit := int32(h.limit())
		for {
			n := h.streams.Load()
			if n >= limit {
				return 0, errTooManySubscribers
			}
			if h.streams.CompareAndSwap(n, n+1) {
				break
			}
		}
	}
	h.active.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next, nil
}

// leave unregisters a subscriber that join registered and had read up to
// cursor: what it missed while it could not keep up (a stream whose client
// stopped reading, then left) is counted.
func (h *hub) leave(stream bool, cursor uint64) {
	h.mu.Lock()
	if oldest := h.next - min(h.next, eventRing); cursor < oldest {
		h.dropped.Add(oldest - cursor)
	}
	h.mu.Unlock()
	if stream {
		h.streams.Add(-1)
	}
	h.active.Add(-1)
}

// limit is the cap on event streams.
func (h *hub) limit() int {
	if h.max <= 0 {
		return DefaultMaxEventSubscribers
	}
	return h.max
}

// read appends to buf the events from cursor on and returns the new cursor;
// when there are none yet, it returns a channel closed by the next
// publish. Events that left the ring before the subscriber read them are
// skipped and counted.
func (h *hub) read(cursor uint64, buf []published) ([]published, uint64, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cursor == h.next {
		if h.wake == nil {
			h.wake = make(chan struct{})
		}
		return buf, cursor, h.wake
	}
	if oldest := h.next - min(h.next, eventRing); cursor < oldest {
		h.dropped.Add(oldest - cursor)
		cursor = oldest
	}
	for ; cursor < h.next; cursor++ {
		buf = append(buf, h.ring[cursor%eventRing])
	}
	return buf, cursor, nil
}

// remember keeps the encodings a stream made of the events of batch (those
// it encoded: sse set where the ring's copy has none) for the other streams,
// for the events still in the ring.
func (h *hub) remember(batch []published) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range batch {
		slot := &h.ring[p.seq%eventRing]
		if p.sse != nil && slot.seq == p.seq && slot.sse == nil && h.next-p.seq <= eventRing {
			slot.sse = p.sse
		}
	}
}

// subscribe is Balancer.Subscribe: a goroutine copies the ring into a
// channel for the subscriber until cancel. It is not capped: its
// subscribers are the host program's own.
func (h *hub) subscribe() (<-chan Event, func()) {
	cursor, _ := h.join(false)
	ch := make(chan Event)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer close(ch)
		defer func() { h.leave(false, cursor) }()
		var batch []published
		for {
			var wake <-chan struct{}
			batch, cursor, wake = h.read(cursor, batch[:0])
			if wake != nil {
				select {
				case <-wake:
					continue
				case <-done:
					return
				}
			}
			for _, p := range batch {
				select {
				case ch <- p.Event:
				case <-done:
					return
				}
			}
		}
	}()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			close(done)
			<-stopped
		})
	}
}

// clientLabel is the event's short stable label of the client: the random
// label its stickiness cookie carries, else a hash of its address and user
// agent. Neither reveals the address.
func clientLabel(ex *exchange, r *http.Request) string {
	if ex.client != 0 && (ex.sticky.client != 0 || ex.setCkie) {
		return "c-" + strconv.FormatUint(ex.client&0xffffffff, 16)
	}
	h := fnv.New32a()
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	io.WriteString(h, host)
	io.WriteString(h, r.UserAgent())
	return "a-" + strconv.FormatUint(uint64(h.Sum32()), 16)
}
