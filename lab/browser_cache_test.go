package lab

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCacheHitRatio: with the instances on a real redis-server and
// their cache on (-redis-cache, the default), the dashboard's card of the
// instance that serves the shop shows its cache hit ratio, in real
// Chromium, once the shop has been reloaded (each page view loads the
// session; with stickiness the instance answers it from its cache).
func TestBrowserCacheHitRatio(t *testing.T) {
	requireRedisServer(t)
	srv, err := startRedisServer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	b := startBrowser(t)
	addr := freeLoopbackAddr(t)
	app := "http://" + addr
	d := startDemo(t, "-listen", addr, "-instances", "2", "-store", "redis", "-sticky", "app", "-redis-url", srv.URL())
	ctx := b.ctx
	runBrowser(t, ctx, chromedp.Navigate(d.admin+"/?app="+url.QueryEscape(app+"/")))
	pollDashboard(t, ctx, `document.querySelectorAll('.card[data-state="healthy"][data-process="running"]').length === 2`)
	shopLogin(t, ctx, "ada", "tea")
	served := frameText(t, ctx, "h1.instance")
	for range 3 {
		reloadShop(t, ctx)
	}
	pollDashboard(t, ctx, fmt.Sprintf(`/cache hits [1-9][0-9]*%%/.test((document.querySelector('.card[data-name=%q] .proc') || {}).textContent || '')`, served))
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
