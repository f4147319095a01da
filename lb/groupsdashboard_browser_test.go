package lb

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardRulesAndGroups: under a configuration file, the dashboard
// shows the rules, a slider for the weighted forward (80/20 at 20) that
// shifts the weights when moved, each group's targets with ALB's reason
// code for one that fails its health check, and the primary group's
// targets only in the fleet.
func TestDashboardRulesAndGroups(t *testing.T) {
	bs, _ := backends(t, 3)
	r := serveRouter(t, strings.Replace(blueGreenYAML, "DURATION", "1h", 1), bs, Config{})
	bs[2].healthy.Store(false)
	waitFor(t, "app-3 unhealthy", func() bool { return r.groupTarget("green", "app-3").State == StateUnhealthy })
	tab, closeTab := chromium(t)
	defer closeTab()
	if err := chromedp.Do(tab, chromedp.Navigate(r.admin+"/")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	// Read the panel until it shows what the API says (it polls every second).
	await := func(what, js string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
			if err == nil && got != "" {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("the dashboard never showed %s (%v)", what, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if got := await("the slider", `(document.querySelector('#groups .rule[data-rule="default"] input.weight') || {}).value || ''`); got != "20" {
		t.Errorf("slider at %s, want 20 (green's share of 80/20)", got)
	}
	await("green's reason code", `[...document.querySelectorAll('#groups .tg[data-group="green"] .reason')].map(e => e.textContent).find(x => x === 'Target.ResponseCodeMismatch') || ''`)
	// The fleet's cards are blue's (the primary group), though GET
	// /api/targets lists green's app-3 too. A refresh that starts after a
	// second onPoll call follows one that has rendered.
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`dashboard.onPoll(() => { window.polls = (window.polls || 0) + 1; })`)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	await("two refreshes", `window.polls >= 2 ? 'yes' : ''`)
	if got := await("the fleet", `[...document.querySelectorAll('#fleet .card')].map(e => e.dataset.name).join(' ')`); got != "app-1 app-2" {
		t.Errorf("the fleet's cards: %s, want app-1 app-2 (blue's, the primary group)", got)
	}
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('#groups .rule[data-rule="default"] input.weight');
		s.value = '100';
		s.dispatchEvent(new Event('input'));
		s.dispatchEvent(new Event('change'));
	})()`)); err != nil {
		t.Fatalf("moving the slider: %v", err)
	}
	waitFor(t, "the weights moved to 0/100 by the slider", func() bool {
		fw := r.rules.Load().DefaultAction.Forward
		return fw.TargetGroups[0].Weight == 0 && fw.TargetGroups[1].Weight == 100
	})
}
