package lb

import (
	"net/http"
	"sync/atomic"
	"time"
)

// cookieLifetime is the browser-visible lifetime of every cookie the
// balancer sets. ALB always sends Expires=now+7 days and enforces the
// configured duration inside the encrypted value (observed on the wire).
const cookieLifetime = 7 * 24 * time.Hour

// cookieWriter appends the balancer's Set-Cookie lines to responses. It is
// safe for concurrent use.
type cookieWriter struct {
	codec *cookieCodec
	// attrs caches the attribute strings of the current second: the
	// Expires date changes once a second, not once a request.
	attrs atomic.Pointer[cookieAttrs]
}

// cookieAttrs are the parts of the Set-Cookie lines that depend only on the
// second they are made in.
type cookieAttrs struct {
	unix      int64
	plain     string    // "; Expires=...; Path=/"
	cors      string    // "; Expires=...; Path=/; SameSite=None; Secure"
	appRemove [3]string // AWSALBAPP-1..3=_remove_, as ALB sends them
}

func (cw *cookieWriter) attrsAt(now time.Time) *cookieAttrs {
	unix := now.Unix()
	if a := cw.attrs.Load(); a != nil && a.unix == unix {
		return a
	}
	exp := time.Unix(unix, 0).Add(cookieLifetime).UTC().Format(http.TimeFormat)
	a := &cookieAttrs{
		unix:  unix,
		plain: "; Expires=" + exp + "; Path=/",
	}
	// ALB's CORS copy: same value, but sent on cross-site requests, which
	// browsers allow only for SameSite=None; Secure cookies.
	a.cors = a.plain + "; SameSite=None; Secure"
	for i := range a.appRemove {
		a.appRemove[i] = "AWSALBAPP-" + string(rune('1'+i)) + "=_remove_" + a.plain
	}
	cw.attrs.Store(a)
	return a
}

// deadline is when a binding made at now for d ends, in unix milliseconds:
// a client is bound for d, not a second more.
func deadline(now time.Time, d time.Duration) int64 {
	return now.Add(d).UnixMilli()
}

// setDuration appends AWSALB and AWSALBCORS binding client to target for d.
// ALB refreshes both on every response (sliding expiry). When h has no
// Set-Cookie yet, the two values go in room (nil: a new slice).
func (cw *cookieWriter) setDuration(h http.Header, now time.Time, target string, client uint64, d time.Duration, room *[2]string) {
	a := cw.attrsAt(now)
	// Both lines are built in one buffer and become one string: one
	// allocation instead of two.
	var buf [2*(len(cookieLBCORS)+1+maxCookieValue) + 160]byte
	lines := append(buf[:0], cookieLB...)
	lines = append(lines, '=')
	lines = cw.codec.appendSeal(lines, purposeDuration, stickyValue{deadline: deadline(now, d), client: client, target: target})
	value := lines[len(cookieLB)+1:]
	lines = append(lines, a.plain...)
	first := len(lines)
	lines = append(lines, cookieLBCORS...)
	lines = append(lines, '=')
	lines = append(lines, value...)
	lines = append(lines, a.cors...)
	s := string(lines)
	vals := h["Set-Cookie"]
	if len(vals) == 0 && room != nil {
		vals = room[:0]
	}
	h["Set-Cookie"] = append(vals, s[:first], s[first:])
}

// setApp appends AWSALBAPP-0 binding client to target for d, and
// AWSALBAPP-1..3 set to _remove_ as ALB sends them.
func (cw *cookieWriter) setApp(h http.Header, now time.Time, target string, client uint64, d time.Duration) {
	a := cw.attrsAt(now)
	var buf [len(cookieApp) + 1 + maxCookieValue]byte
	line := append(buf[:0], cookieApp...)
	line = append(line, '=')
	line = cw.codec.appendSeal(line, purposeApp, stickyValue{deadline: deadline(now, d), client: client, target: target})
	h["Set-Cookie"] = append(h["Set-Cookie"], string(line)+a.plain, a.appRemove[0], a.appRemove[1], a.appRemove[2])
}
