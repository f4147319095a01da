package lb

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// TestCheckSettings checks that CheckSettings refuses what New refuses, with
// the same field, and does not ask for targets.
func TestCheckSettings(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		field string // "" when the config is fine
	}{
		{"zero value", Config{}, ""},
		{"app stickiness with its cookie", Config{Sticky: StickyApp, AppCookie: "session"}, ""},
		{"reserved app cookie", Config{Sticky: StickyApp, AppCookie: "AWSALBAPP-1"}, "AppCookie"},
		{"app stickiness without a cookie", Config{Sticky: StickyApp}, "AppCookie"},
		{"health path without a slash", Config{HealthPath: "healthz"}, "HealthPath"},
		{"timeout not shorter than interval", Config{HealthInterval: time.Second, HealthTimeout: time.Second}, "HealthTimeout"},
		{"cookie key of 5 bytes", Config{CookieKeys: [][]byte{[]byte("short")}}, "CookieKeys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.CheckSettings()
			var fe *FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tc.field != "" && !errors.As(err, &fe):
				t.Fatalf("got %v, want a *FieldError for %s", err, tc.field)
			case tc.field != "" && fe.Field != tc.field:
				t.Fatalf("got field %s (%v), want %s", fe.Field, err, tc.field)
			}
			if tc.field == "" {
				return
			}
			// New, given a target, refuses it alike.
			tc.cfg.Targets = []Target{{Name: "a", URL: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}}}
			_, nerr := New(tc.cfg)
			if nerr == nil || nerr.Error() != err.Error() {
				t.Errorf("New: got %v, want %v", nerr, err)
			}
		})
	}
}
