package lb

import (
	"encoding/json"
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
		Time: e.Time, Kind: e.Kind, Target: e.Target, Client: e.Client, Sticky: e.Sticky,
		Status: e.Status, Method: e.Method, Path: e.Path,
		DurationMS: float64(e.Duration.Microseconds()) / 1000, Retries: e.Retries,
		State: e.State, PrevState: e.PrevState, Reason: e.Reason,
	})
}

// subscriberBuffer is how many events a slow subscriber may lag behind
// before events are dropped for it.
const subscriberBuffer = 256

// hub fans events out to subscribers. Publishing never blocks: a subscriber
// whose buffer is full misses the event, and the drop is counted.
type hub struct {
	active  atomic.Int32 // number of subscribers, read without the lock on the request path
	dropped atomic.Uint64

	mu   sync.RWMutex // guards subs and closing their channels
	subs map[chan Event]struct{}
}

// wanted reports whether anyone listens, so that the request path builds no
// event when no one does.
func (h *hub) wanted() bool { return h.active.Load() > 0 }

func (h *hub) publish(e Event) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			h.dropped.Add(1)
		}
	}
}

func (h *hub) subscribe() (<-chan Event, func()) {
	ch := make(chan Event, subscriberBuffer)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[chan Event]struct{})
	}
	h.subs[ch] = struct{}{}
	h.active.Add(1)
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			h.active.Add(-1)
			close(ch)
			h.mu.Unlock()
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
