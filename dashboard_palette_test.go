package main

import (
	"fmt"
	"testing"

	"stickylab/app"
	"stickylab/lb"
)

// TestDashboardPaletteMatchesApp keeps the dashboard's copy of the instance
// colours (lb.InstanceColor: lb may not import app) in step with the
// colours the app shows on its page (app.Color), so that a learner sees
// app-2 in the same colour in both.
func TestDashboardPaletteMatchesApp(t *testing.T) {
	names := []string{"", "app", "web", "db.internal", "shop-eu-west", "app-0", "app-1000000000009", "x99999999999999999999"}
	for i := range 40 {
		names = append(names, fmt.Sprintf("app-%d", i), fmt.Sprintf("host%d", i*7919))
	}
	for _, name := range names {
		if got, want := lb.InstanceColor(name), app.Color(name); got != want {
			t.Errorf("lb.InstanceColor(%q) = %s, want app.Color's %s", name, got, want)
		}
	}
}
