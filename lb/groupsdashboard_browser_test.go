package lb

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardRulesAndGroups: under a configuration file, the dashboard
// shows the rules, a slider for the weighted forward (80/20 at 20) that
// shifts the weights when moved, and each group's targets with ALB's
// reason code for one that fails its health check.
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
