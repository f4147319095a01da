// Package duration writes durations the way a user types them on the
// command line: 168h rather than time.Duration's 168h0m0s.
package duration

import (
	"strings"
	"time"
)

// Short is d.String() without trailing zero units: 168h, 5m, 1h30m, 90s
// stays 1m30s, and below a second it is d.String() itself (500ms). Every
// result parses back to d with time.ParseDuration.
func Short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
