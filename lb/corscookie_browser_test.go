package lb

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestCORSCookiesCrossSiteInChromium shows, in a real browser, why ALB sets
// AWSALBCORS and AWSALBTGCORS: a page on another site (127.0.0.1) calls
// the balancer (https://localhost) with credentials. Chromium refuses the
// cookies without SameSite from a cross-site response (AWSALB, AWSALBTG:
// Lax by default) and keeps the SameSite=None; Secure ones, which then
// keep every call on one group and one target (a 50/50 forward over three
// targets would otherwise move it).
func TestCORSCookiesCrossSiteInChromium(t *testing.T) {
	tab, cancelTab := chromium(t)
	defer cancelTab()
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!doctype html><title>another site</title>")
	}))
	defer page.Close()
	origin := page.URL // http://127.0.0.1:port: another site than localhost
	var targets []*httptest.Server
	for _, name := range []string{"app-1", "app-2", "app-3"} {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {})
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			io.WriteString(w, name)
		})
		srv := httptest.NewServer(mux)
		defer srv.Close()
		targets = append(targets, srv)
	}
	bs := []*backend{{name: "app-1", url: mustURL(targets[0].URL)}, {name: "app-2", url: mustURL(targets[1].URL)}, {name: "app-3", url: mustURL(targets[2].URL)}}
	for _, b := range bs {
		b.healthy.Store(true)
	}
	r := serveRouter(t, `
listener:
  protocol: HTTPS
  certificate: {self_signed: true}
  default_action:
    forward:
      target_groups: [{name: blue, weight: 1}, {name: green, weight: 1}]
      stickiness: {enabled: true, duration: 1h}
target_groups:
  - {name: blue, targets: [app-1={app-1}, app-2={app-2}], stickiness: {type: lb_cookie}}
  - {name: green, targets: [app-3={app-3}], stickiness: {type: lb_cookie}}
`, bs, Config{})
	lbURL := "https://localhost:" + r.url[strings.LastIndex(r.url, ":")+1:] + "/"

	// Why Chromium refused cookies, by name, from the responses' extra info.
	var mu sync.Mutex // guards blocked
	blocked := map[string][]network.SetCookieBlockedReason{}
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		for ev, err := range chromedp.Events(tab, network.ResponseReceivedExtraInfo) {
			if err != nil {
				return
			}
			mu.Lock()
			for _, b := range ev.BlockedCookies {
				blocked[b.Cookie.Name] = b.BlockedReasons
			}
			mu.Unlock()
		}
	}()
	if err := chromedp.Do(tab, chromedp.Navigate(origin+"/")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[string](`(async () => {
		const out = [];
		for (let i = 0; i < 8; i++) {
			const res = await fetch(`+"`"+lbURL+"`"+`, {credentials: 'include'});
			out.push(await res.text());
		}
		return JSON.stringify(out);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	var answers []string
	if err := json.Unmarshal([]byte(got), &answers); err != nil {
		t.Fatalf("the page returned %q: %v", got, err)
	}
	if len(answers) != 8 || slices.ContainsFunc(answers, func(a string) bool { return a != answers[0] }) {
		t.Errorf("cross-site calls answered by %v, want one target for all (stuck by AWSALBTGCORS and AWSALBCORS)", answers)
	}
	res, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{lbURL}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range res.Cookies {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if want := []string{cookieLBCORS, cookieTGCORS}; !slices.Equal(names, want) {
		t.Errorf("Chromium kept cookies %v for the balancer, want only %v: the cross-site response's cookies without SameSite=None are refused", names, want)
	}
	cancelTab()
	<-listening
	for _, name := range []string{cookieLB, cookieTG} {
		if reasons := blocked[name]; !slices.ContainsFunc(reasons, func(r network.SetCookieBlockedReason) bool { return strings.Contains(string(r), "SameSite") }) {
			t.Errorf("Chromium's reasons for refusing %s: %v, want a SameSite reason", name, reasons)
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
