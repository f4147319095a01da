package duration

import (
	"testing"
	"time"
)

func TestShort(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Millisecond, "500ms"},
		{time.Second, "1s"},
		{90 * time.Second, "1m30s"},
		{5 * time.Minute, "5m"},
		{90 * time.Minute, "1h30m"},
		{168 * time.Hour, "168h"},
		{time.Hour + time.Second, "1h0m1s"},
		{-2 * time.Minute, "-2m"},
	}
	for _, tc := range cases {
		got := Short(tc.d)
		if got != tc.want {
			t.Errorf("Short(%d): got %q, want %q", int64(tc.d), got, tc.want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != tc.d {
			t.Errorf("ParseDuration(%q): got %v, %v, want %v", got, back, err, tc.d)
		}
	}
}
