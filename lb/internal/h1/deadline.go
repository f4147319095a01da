package h1

import "time"

// aLongTimeAgo is a deadline in the past: set on a connection, it ends
// whatever waits on it at once.
var aLongTimeAgo = time.Unix(1, 0)

// keepDeadline sets a deadline timeout from now (none for 0) with set,
// unless cur, the one in force, is no later than that and less than a 60th
// of the timeout earlier. It returns the deadline in force. A zero now is
// read from the clock.
func keepDeadline(set func(time.Time) error, cur time.Time, timeout time.Duration, now time.Time) time.Time {
	if timeout == 0 {
		if !cur.IsZero() {
			set(time.Time{})
		}
		return time.Time{}
	}
	if now.IsZero() {
		now = time.Now()
	}
	d := now.Add(timeout)
	if !cur.IsZero() && !d.Before(cur) && d.Sub(cur) < timeout/60 {
		return cur
	}
	set(d)
	return d
}
