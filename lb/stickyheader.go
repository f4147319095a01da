package lb

import (
	"net/http"
	"time"
)

// StickinessHeader is the request header in which the balancer tells the
// target what it decided for the request, when Config.StickinessHeader is
// set, for example
//
//	mode=duration; cookie=AWSALB; target=app-2; until=2026-11-27T14:05:00Z; decision=stuck
//
// or "mode=none". The lab's app shows it on its page, so that a learner sees
// what the cookie they cannot read (it is sealed) means. until is when the
// binding ends without another request. ALB sends nothing like it; it is off
// by default.
//
// Trust: the balancer replaces any value the client sent, so a target behind
// it can believe the header as much as it believes the balancer.
const StickinessHeader = "X-Stickylab-Stickiness"

// setStickinessHeader writes the StickinessHeader of the exchange's current
// target into h, the outbound request's header. Passive failover calls it
// again when it moves the request, so the target that answers reads its own
// name.
func (b *Balancer) setStickinessHeader(h http.Header, ex *exchange) {
	if !b.cfg.StickinessHeader {
		return
	}
	h[StickinessHeader] = []string{stickinessValue(ex.stick, ex.sticky.decision, ex.target.name, ex.start)}
}

// stickinessValue formats the header's value.
func stickinessValue(s *Stickiness, decision, target string, now time.Time) string {
	var cookie string
	switch s.Mode {
	case StickyDuration:
		cookie = cookieLB
	case StickyApp:
		cookie = cookieApp
	default:
		return "mode=" + StickyNone
	}
	buf := make([]byte, 0, 128)
	buf = append(buf, "mode="...)
	buf = append(buf, s.Mode...)
	buf = append(buf, "; cookie="...)
	buf = append(buf, cookie...)
	buf = append(buf, "; target="...)
	buf = append(buf, target...)
	buf = append(buf, "; until="...)
	buf = now.Add(s.Duration).UTC().Truncate(time.Second).AppendFormat(buf, time.RFC3339)
	buf = append(buf, "; decision="...)
	buf = append(buf, decision...)
	return string(buf)
}
