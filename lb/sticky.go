package lb

import (
	"net/http"
	"strings"
	"time"
)

// Stickiness is the stickiness setting, which can change at run time
// (SetStickiness, PUT /api/stickiness).
type Stickiness struct {
	Mode      string        // StickyNone, StickyDuration or StickyApp
	Duration  time.Duration // how long a client stays bound without a request, 1s to 168h
	AppCookie string        // the application cookie app stickiness follows
}

// Sticky decisions, the values of Event.Sticky.
const (
	DecisionNone    = ""        // stickiness is off
	DecisionNew     = "new"     // the algorithm chose: no usable cookie (none, forged, expired, or app mode without the app cookie)
	DecisionStuck   = "stuck"   // the cookie's target took the request
	DecisionRestuck = "restuck" // the cookie named a target that is unhealthy, draining or gone: re-stuck to a new one
)

// Names of the balancer's cookies, as ALB sets them.
const (
	cookieLB     = "AWSALB"
	cookieLBCORS = "AWSALBCORS"
	cookieApp    = "AWSALBAPP-0"
)

// stickyResult is the outcome of reading a request's stickiness cookie.
type stickyResult struct {
	decision string
	target   *target // the bound target when decision is stuck
	client   uint64  // the client label carried by an authentic cookie, 0 when none
	hasApp   bool    // app mode: the request carries the application cookie
	hasBoth  bool    // app mode: ... and an AWSALBAPP-0, valid or not
}

// decide reads the request's stickiness cookie under setting s and the pool
// snapshot. It does no I/O: the caller picks a target with the algorithm when
// the decision is not stuck. An unusable cookie is never an error: it is
// treated as no cookie, as on ALB.
func decide(s *Stickiness, h http.Header, snap *snapshot, codec *cookieCodec, now time.Time) stickyResult {
	var value string
	var res stickyResult
	var purpose byte
	switch s.Mode {
	case StickyDuration:
		purpose = purposeDuration
		var ok bool
		if value, ok = cookieValue(h, cookieLB); !ok {
			// AWSALBCORS is what cross-site requests carry, AWSALB being
			// SameSite=Lax by default in browsers.
			value, _ = cookieValue(h, cookieLBCORS)
		}
	case StickyApp:
		purpose = purposeApp
		// ALB checks only the name of the application cookie: stickiness
		// follows the application's session, so without it there is none.
		if _, res.hasApp = cookieValue(h, s.AppCookie); !res.hasApp {
			res.decision = DecisionNew
			return res
		}
		value, res.hasBoth = cookieValue(h, cookieApp)
	default:
		return res
	}
	res.decision = DecisionNew
	if value == "" {
		return res
	}
	v, ok := codec.open(value, purpose, snap.intern)
	if !ok {
		return res
	}
	res.client = v.client
	if now.UnixMilli() >= v.deadline {
		return res
	}
	t := snap.byName[v.target]
	if t == nil || !snap.usable(t) {
		res.decision = DecisionRestuck
		return res
	}
	res.decision = DecisionStuck
	res.target = t
	return res
}

// cookieValue returns the value of the first cookie called name in the
// request's Cookie headers, without allocating. Quotes around the value are
// removed as net/http does.
func cookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			if len(part) <= len(name) || part[len(name)] != '=' || part[:len(name)] != name {
				continue
			}
			v := strings.TrimRight(part[len(name)+1:], " \t")
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}
