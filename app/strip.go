package app

import (
	"strings"
	"time"
)

// stickinessHeader is the request header in which the balancer (stickylab
// lb) tells the app what it decided for this request, for example
//
//	mode=duration; cookie=AWSALB; target=app-2; until=2026-11-27T14:05:00Z; decision=stuck
//
// and "mode=none" when stickiness is off. The page shows it as one line.
//
// Trust: a client can send the header itself; it is only displayed, to the
// client that sent it, and escaped. A malformed value shows nothing.
const stickinessHeader = "X-Stickylab-Stickiness"

// maxStickinessHeader bounds the header the page is willing to parse: the
// longest real one is about 150 bytes.
const maxStickinessHeader = 512

// stickiness is the balancer's decision for one request.
type stickiness struct {
	Mode     string    // none, duration or app
	Decision string    // new, stuck or restuck; empty with mode none
	Target   string    // the instance the balancer chose
	Cookie   string    // the stickiness cookie, e.g. AWSALB; may be empty
	Until    time.Time // when the binding ends without another request; may be zero
}

// parseStickiness parses the X-Stickylab-Stickiness header. It reports
// false for an absent or malformed header: unknown modes or decisions,
// missing target, a bad time, repeated or over-long fields. Unknown keys are
// ignored, so that the balancer can add some.
func parseStickiness(v string) (stickiness, bool) {
	if v == "" || len(v) > maxStickinessHeader {
		return stickiness{}, false
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(v, ";") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return stickiness{}, false
		}
		if _, dup := fields[key]; dup {
			return stickiness{}, false
		}
		fields[key] = strings.TrimSpace(val)
	}
	s := stickiness{Mode: fields["mode"]}
	switch s.Mode {
	case "none":
		return s, true
	case "duration", "app":
	default:
		return stickiness{}, false
	}
	s.Decision, s.Target, s.Cookie = fields["decision"], fields["target"], fields["cookie"]
	switch s.Decision {
	case "new", "stuck", "restuck":
	default:
		return stickiness{}, false
	}
	if !isName(s.Target) || (s.Cookie != "" && !isName(s.Cookie)) {
		return stickiness{}, false
	}
	if u := fields["until"]; u != "" {
		t, err := time.Parse(time.RFC3339, u)
		if err != nil {
			return stickiness{}, false
		}
		s.Until = t
	}
	return s, true
}

// isName reports whether s is a plausible instance or cookie name: 1 to 64
// letters, digits and ._-: characters.
func isName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

// stripView is the strip as the page template shows it.
type stripView struct {
	stickiness
	UntilText string // "14:05", or "Nov 28 14:05" when not today; empty when unknown
	UntilISO  string // RFC 3339, for <time datetime>
}

// newStripView formats s for a reader whose clock says now, in now's
// location.
func newStripView(s stickiness, now time.Time) *stripView {
	v := &stripView{stickiness: s}
	if !s.Until.IsZero() {
		until := s.Until.In(now.Location())
		v.UntilISO = s.Until.UTC().Format(time.RFC3339)
		v.UntilText = until.Format("15:04")
		if y, m, d := until.Date(); y != now.Year() || m != now.Month() || d != now.Day() {
			v.UntilText = until.Format("Jan 2 15:04")
		}
	}
	return v
}
