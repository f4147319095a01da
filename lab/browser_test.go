package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"stickylab/internal/testenv"
	"stickylab/lb"
)

// The browser test: the dashboard and the shop in real Chromium against the
// real demo (child processes, real SIGKILLs). A learner's path: log in and
// fill the cart in the shop beside the dashboard, kill the instance that
// served, watch the dashboard mark it down, reload the shop and land on
// another instance, logged out with memory sessions, still logged in with
// Redis. Any console error or uncaught exception on the way fails it.
//
// With STICKYLAB_SCREENSHOTS set to a directory, it also saves the README's
// screenshots there at the steps they show, with a few simulated users
// shopping alongside so that the dashboard has something to show
// (scripts/screenshots.sh).

// browserStep bounds every wait of the browser test.
const browserStep = 20 * time.Second

func TestBrowserKill(t *testing.T) {
	tests := []struct {
		store, sticky string
		keepsLogin    bool
		// Screenshots: before the kill, of the shop alone, after the kill.
		shotBefore, shotApp, shotAfter string
	}{
		{"memory", "duration", false, "dashboard.png", "app.png", "dashboard-killed.png"},
		{"redis", "app", true, "", "", "dashboard-redis.png"},
		{"cookie", "app", true, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.store, func(t *testing.T) {
			b := startBrowser(t)
			addr := freeLoopbackAddr(t)
			app := "http://" + addr
			d := startDemo(t, "-listen", addr, "-instances", "3", "-store", tt.store, "-sticky", tt.sticky)
			if screenshots() != "" {
				startShoppers(t, app, 5)
			}
			ctx := b.ctx
			dashboard := d.admin + "/?app=" + url.QueryEscape(app+"/")
			runBrowser(t, ctx, chromedp.Navigate(dashboard))
			pollDashboard(t, ctx, `document.querySelectorAll('.card[data-state="healthy"][data-process="running"]').length === 3`)
			pollDashboard(t, ctx, fmt.Sprintf(`document.querySelector('#store button[aria-pressed="true"]').dataset.store === %q &&
				document.querySelector('#sticky button[aria-pressed="true"]').dataset.mode === %q`, tt.store, tt.sticky))

			shopLogin(t, ctx, "ada", "tea", "a book")
			served := frameText(t, ctx, "h1.instance")
			checkStrip(t, ctx, served, lb.DecisionStuck, lb.DecisionNew)
			// The dashboard knows this browser: its card and its requests.
			pollDashboard(t, ctx, fmt.Sprintf(`(document.querySelector('.card.mine') || {dataset: {}}).dataset.name === %q &&
				!!document.querySelector('#rows .row.me')`, served))
			if screenshots() != "" {
				awaitShoppers(t, ctx)
				shoot(t, ctx, tt.shotBefore)
				if tt.shotApp != "" {
					// The shop alone, in a second tab of the same
					// browser (same cookies); then the dashboard's tab
					// comes to the front again.
					tab, closeTab := chromedp.NewContext(ctx)
					runBrowser(t, tab, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(app+"/"), chromedp.WaitVisible(chromedp.CSS(".user")))
					shoot(t, tab, tt.shotApp)
					closeTab()
					if _, err := chromedp.Call(ctx, page.BringToFront, cdp.Empty{}); err != nil {
						t.Fatal(err)
					}
				}
			}

			card := fmt.Sprintf(`.card[data-name=%q]`, served)
			// The button says how this platform kills (GET /api/instances).
			pollDashboard(t, ctx, fmt.Sprintf(`document.querySelector('%s .btn.danger').title === %q`,
				card, "Kill the process at once ("+killCall+"): its memory is gone"))
			runBrowser(t, ctx, chromedp.Click(chromedp.CSS(card+" .btn.danger")))
			pollDashboard(t, ctx, fmt.Sprintf(`document.querySelector('%s').dataset.process === 'killed' &&
				document.querySelector('%s').dataset.state === 'unhealthy' &&
				document.querySelector('%s').classList.contains('down')`, card, card, card))

			reloadShop(t, ctx)
			now := frameText(t, ctx, "h1.instance")
			if now == served {
				t.Fatalf("after killing %s the shop was served by %s, want another instance", served, now)
			}
			checkStrip(t, ctx, now, lb.DecisionRestuck)
			// The dashboard shows this browser's request re-stuck to it.
			pollDashboard(t, ctx, fmt.Sprintf(`[...document.querySelectorAll('#rows .row.me')].some(r =>
				r.querySelector('.decision.restuck') && r.querySelector('.chip').textContent === %q)`, now))
			if tt.keepsLogin {
				if user := frameText(t, ctx, ".user strong"); user != "ada" {
					t.Errorf("with %s sessions after the kill: got user %q, want ada", tt.store, user)
				}
				if cart := frameWait(t, ctx, `[...document.querySelectorAll('.cart li')].map(li => li.textContent).join(', ')`); cart != "tea, a book" {
					t.Errorf("with %s sessions after the kill: got cart %q, want tea, a book", tt.store, cart)
				}
			} else {
				frameWait(t, ctx, `!!document.querySelector('form[action="/login"]') && !document.querySelector('.user')`)
			}
			if screenshots() != "" {
				awaitShoppers(t, ctx)
				shoot(t, ctx, tt.shotAfter)
			}
			if !tt.keepsLogin {
				// The dashboard's switch to Redis restarts every
				// instance, the killed one included, on the shared store.
				runBrowser(t, ctx, chromedp.Click(chromedp.CSS(`#store button[data-store="redis"]`)))
				awaitDashboard(t, ctx, 3*browserStep, `document.querySelector('#store button[aria-pressed="true"]').dataset.store === 'redis' &&
					document.querySelectorAll('.card[data-state="healthy"][data-process="running"]').length === 3`)
				reloadShop(t, ctx)
				frameWait(t, ctx, `!!document.querySelector('.badge.shared')`)
			}
			for _, e := range b.consoleErrors() {
				t.Errorf("console: %s", e)
			}
		})
	}
}

// TestBrowserMigrateInPlace: the dashboard's switch from memory to Redis in
// place keeps the user logged in, restarts no process, and from then on a
// kill of the instance that served them logs nobody out.
func TestBrowserMigrateInPlace(t *testing.T) {
	b := startBrowser(t)
	addr := freeLoopbackAddr(t)
	app := "http://" + addr
	d := startDemo(t, "-listen", addr, "-instances", "2", "-store", "memory", "-sticky", "app")
	ctx := b.ctx
	runBrowser(t, ctx, chromedp.Navigate(d.admin+"/?app="+url.QueryEscape(app+"/")))
	pollDashboard(t, ctx, `document.querySelectorAll('.card[data-state="healthy"][data-process="running"]').length === 2 &&
		!document.getElementById('store-migrate').hidden`)
	shopLogin(t, ctx, "ada", "tea")
	served := frameText(t, ctx, "h1.instance")
	pids := d.pids(t)

	runBrowser(t, ctx, chromedp.Click(chromedp.CSS(`#store-migrate`)))
	awaitDashboard(t, ctx, 3*browserStep, `document.querySelector('#store button[aria-pressed="true"]').dataset.store === 'redis' &&
		document.getElementById('store-migrate').hidden`)
	if got := d.pids(t); !slices.Equal(got, pids) {
		t.Errorf("processes after the in-place switch: got pids %v, want %v (no restart)", got, pids)
	}
	reloadShop(t, ctx)
	if user := frameText(t, ctx, ".user strong"); user != "ada" {
		t.Fatalf("after the in-place switch: got user %q, want ada", user)
	}
	card := fmt.Sprintf(`.card[data-name=%q]`, served)
	runBrowser(t, ctx, chromedp.Click(chromedp.CSS(card+" .btn.danger")))
	pollDashboard(t, ctx, fmt.Sprintf(`document.querySelector('%s').dataset.process === 'killed'`, card))
	reloadShop(t, ctx)
	if now := frameText(t, ctx, "h1.instance"); now == served {
		t.Fatalf("after killing %s the shop was served by it", served)
	}
	if user := frameText(t, ctx, ".user strong"); user != "ada" {
		t.Errorf("after the switch and a kill: got user %q, want ada", user)
	}
	for _, e := range b.consoleErrors() {
		t.Errorf("console: %s", e)
	}
}

// TestBrowserBalancerControls drives the dashboard of a balancer without
// the demo's instance API, as "stickylab lb" serves it: no kill buttons and
// no store switch, while the stickiness switch, drain and register work.
// Its first paint shows the targets as they are, before any answer of the
// admin API, and its request stream shows the shop's first request.
func TestBrowserBalancerControls(t *testing.T) {
	b := startBrowser(t)
	var targets []lb.Target
	shopServed := make(chan struct{}) // closed at the first page a target serves
	var shopOnce sync.Once
	for _, name := range []string{"web-1", "web-2"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" {
				shopOnce.Do(func() { close(shopServed) })
			}
			fmt.Fprintf(w, `<!doctype html><title>%s</title><h1 class="instance">%s</h1>`, name, name)
		}))
		t.Cleanup(srv.Close)
		u, err := url.Parse(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, lb.Target{Name: name, URL: u})
	}
	bal, err := lb.New(lb.Config{Targets: targets, Sticky: lb.StickyDuration,
		HealthInterval: 50 * time.Millisecond, HealthTimeout: 40 * time.Millisecond, DeregistrationDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- bal.Serve(serveCtx, proxyLn, nil) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	// The admin API behind a gate: GET /api/targets waits until the first
	// paint has been checked, and GET /api/events until the shop has
	// served a page, or a second has passed (the dashboard loads the shop
	// only once the stream is open, so with it the page never comes first).
	targetsHeld := make(chan struct{})
	releaseTargets := sync.OnceFunc(func() { close(targetsHeld) })
	api := bal.AdminHandler()
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/targets":
			<-targetsHeld
		case "/api/events":
			select {
			case <-shopServed:
			case <-time.After(time.Second):
			}
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		releaseTargets()               // when the test ends early
		admin.CloseClientConnections() // the event stream never ends by itself
		admin.Close()
	})
	awaitHealthy(t, bal)

	ctx := b.ctx
	app := "http://" + proxyLn.Addr().String() + "/"
	runBrowser(t, ctx, chromedp.Navigate(admin.URL+"/?app="+url.QueryEscape(app)))
	// The first paint: healthy, with a drain button, from the page alone.
	pollDashboard(t, ctx, `document.querySelectorAll('.card[data-state="healthy"] .actions .btn:not([hidden])').length === 2`)
	releaseTargets()
	// The shop's first request, the frame's first page, is in the stream.
	shown := frameText(t, ctx, "h1.instance")
	pollDashboard(t, ctx, fmt.Sprintf(`[...document.querySelectorAll('#rows .row.me')].some(r =>
		r.querySelector('.path').textContent === 'GET/' && r.querySelector('.chip').textContent === %q)`, shown))
	reloadShop(t, ctx)
	pollDashboard(t, ctx, fmt.Sprintf(`(document.querySelector('.card.mine') || {dataset: {}}).dataset.name === %q &&
		!!document.querySelector('#rows .row.me .decision.stuck')`, shown))
	// The balancer alone: no control for the lab's routes at all.
	pollDashboard(t, ctx, `!document.querySelector('.card .btn.danger') && !document.getElementById('store-control')`)

	runBrowser(t, ctx, chromedp.Click(chromedp.CSS(`#sticky button[data-mode="none"]`)))
	pollDashboard(t, ctx, `document.querySelector('#sticky button[aria-pressed="true"]').dataset.mode === 'none' &&
		[...document.querySelectorAll('#rows .row.note')].some(r => r.textContent.includes('stickiness: duration → none'))`)
	if got := bal.Stickiness().Mode; got != lb.StickyNone {
		t.Errorf("after the switch: got stickiness %q, want none", got)
	}

	card := `.card[data-name="web-1"]`
	runBrowser(t, ctx, chromedp.Click(chromedp.CSS(card+" .actions .btn:not(.danger)")))
	pollDashboard(t, ctx, fmt.Sprintf(`document.querySelector('%s').dataset.state === 'unused' &&
		document.querySelector('%s .actions .btn').textContent === 'Register'`, card, card))
	if st := bal.Targets()[0]; st.State != lb.StateUnused {
		t.Errorf("after drain: got %s %s, want unused", st.Name, st.State)
	}
	runBrowser(t, ctx, chromedp.Click(chromedp.CSS(card+" .actions .btn:not(.danger)")))
	pollDashboard(t, ctx, fmt.Sprintf(`document.querySelector('%s').dataset.state === 'healthy' &&
		document.querySelector('%s .actions .btn').textContent === 'Drain'`, card, card))
	for _, e := range b.consoleErrors() {
		t.Errorf("console: %s", e)
	}
}

// awaitHealthy waits until every target of bal is healthy.
func awaitHealthy(t *testing.T, bal *lb.Balancer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), browserStep)
	defer cancel()
	events, unsubscribe := bal.Subscribe()
	defer unsubscribe()
	for {
		healthy := 0
		for _, s := range bal.Targets() {
			if s.State == lb.StateHealthy {
				healthy++
			}
		}
		if healthy == len(bal.Targets()) {
			return
		}
		select {
		case <-events: // a state change, or a request: look again
		case <-ctx.Done():
			t.Fatalf("targets %v: not all healthy within %v", bal.Targets(), browserStep)
		}
	}
}

// checkStrip checks the shop's balancer strip (the demo's balancer sends its
// stickiness header): it names the instance that served, with one of the
// decisions.
func checkStrip(t *testing.T, ctx context.Context, served string, decisions ...string) {
	t.Helper()
	got := frameWait(t, ctx, `(() => {
		const s = document.querySelector('.badge.strip');
		return s ? s.dataset.decision + ' ' + s.querySelector('strong').textContent : 'absent';
	})()`)
	for _, d := range decisions {
		if got == d+" "+served {
			return
		}
	}
	t.Errorf("got strip %q, want one of %v naming %s", got, decisions, served)
}

// shopLogin logs in through the shop's form inside the dashboard and adds the
// items to the cart, typing as a learner would.
func shopLogin(t *testing.T, ctx context.Context, user string, items ...string) {
	t.Helper()
	typeInFrame(t, ctx, "#username", user)
	frameWait(t, ctx, fmt.Sprintf(`(document.querySelector('.user strong') || {}).textContent === %q`, user))
	for i, item := range items {
		typeInFrame(t, ctx, "#item", item)
		frameWait(t, ctx, fmt.Sprintf(`document.querySelectorAll('.cart li').length === %d`, i+1))
	}
}

// reloadShop clicks the dashboard's reload button of the shop and waits
// for the new page; the old one is marked first, so that nothing reads it
// by mistake.
func reloadShop(t *testing.T, ctx context.Context) {
	t.Helper()
	frameWait(t, ctx, `document.documentElement.dataset.old = 'yes'`)
	runBrowser(t, ctx, chromedp.Click(chromedp.CSS("#app-reload")))
	frameWait(t, ctx, `document.readyState === 'complete' && !document.documentElement.dataset.old && !!document.querySelector('h1.instance')`)
}

// typeInFrame types text and Enter into the field sel of the shop's frame,
// which submits its form.
func typeInFrame(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	frameWait(t, ctx, fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	runBrowser(t, ctx, chromedp.SendKeys(chromedp.CSS(sel), text+"\r", chromedp.FromNode(shopFrame(t, ctx))))
}

// shopFrame returns the dashboard's iframe element of the shop as it is
// now: a navigation inside it replaces its document.
func shopFrame(t *testing.T, ctx context.Context) *chromedp.Node {
	t.Helper()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("#app")))
	if err != nil || len(nodes) != 1 {
		t.Fatalf("the shop's frame: got %d nodes, %v", len(nodes), err)
	}
	return nodes[0]
}

// frameWait waits until expr is truthy inside the shop's frame and returns
// its value as text. A poll does not survive a navigation of the frame, so
// it starts a new one after each.
func frameWait(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	deadline := time.Now().Add(browserStep)
	var err error
	for time.Now().Before(deadline) {
		var v any
		v, err = chromedp.Run(ctx, chromedp.Poll[any](expr,
			chromedp.WithPollingInFrame(shopFrame(t, ctx)), chromedp.WithPollingTimeout(time.Second)))
		if err == nil {
			return fmt.Sprint(v)
		}
		pause(ctx, 10*time.Millisecond) // the frame has no document yet: ask again soon
	}
	t.Fatalf("in the shop's frame, %s: not true within %v: %v", expr, browserStep, err)
	return ""
}

// frameText waits for the element sel in the shop's frame and returns its
// text.
func frameText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return frameWait(t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent`, sel))
}

// pollDashboard waits until expr is truthy in the dashboard.
func pollDashboard(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	awaitDashboard(t, ctx, browserStep, expr)
}

// awaitDashboard waits up to timeout until expr is truthy in the dashboard.
func awaitDashboard(t *testing.T, ctx context.Context, timeout time.Duration, expr string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
		t.Fatalf("dashboard: %s: not true within %v: %v", expr, timeout, err)
	}
}

// runBrowser runs actions in the tab, failing t on an error.
func runBrowser(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// freeLoopbackAddr returns a loopback address whose port was free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
}

// headless is a headless Chromium with a fresh profile, and the console
// errors and uncaught exceptions of its tab.
type headless struct {
	ctx context.Context // the tab

	mu   sync.Mutex // guards errs
	errs []string
}

// startBrowser starts Debian's chromium for t, with the flags it needs in a
// container, and a 1280x800 viewport.
func startBrowser(t *testing.T) *headless {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium", "the browser test drives Debian's chromium (apt-get install chromium)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	b := &headless{ctx: tab}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800)); err != nil {
		cancelTab()
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(tab)
	done := make(chan struct{})
	// The reader of the console; it ends with the tab.
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errs = append(b.errs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		<-done
	})
	return b
}

func (b *headless) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// screenshots is where the test saves the README's screenshots:
// STICKYLAB_SCREENSHOTS, empty for none.
func screenshots() string { return os.Getenv("STICKYLAB_SCREENSHOTS") }

// shoot saves a screenshot of the tab as name in screenshots().
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if name == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(screenshots(), name), png, 0o644)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("wrote %s (%d KiB)", name, len(png)/1024)
}

// awaitShoppers waits until the shoppers have drawn the sparklines and
// filled the request stream: a picture of an idle dashboard explains
// nothing.
func awaitShoppers(t *testing.T, ctx context.Context) {
	t.Helper()
	// A sparkline gains a point a second: this takes longer than a step.
	awaitDashboard(t, ctx, 3*browserStep, `document.querySelectorAll('#rows .row').length >= 25 &&
		[...document.querySelectorAll('.card:not(.down) .spark polyline')].every(p => (p.getAttribute('points') || '').split(' ').length >= 20)`)
}

// startShoppers runs n simulated users (the experiment's crowd) at a
// person's pace until t ends: each logs in, then looks at its session every
// half second or so, at most a thousand times.
func startShoppers(t *testing.T, base string, n int) {
	users, err := newCrowd(n, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	for _, u := range users {
		wg.Go(func() {
			seen := tally{served: map[string]bool{}}
			u.login(ctx, &seen)
			for range 1000 {
				if pause(ctx, time.Duration(300+rand.IntN(700))*time.Millisecond); ctx.Err() != nil {
					return
				}
				u.do(ctx, &seen, http.MethodGet, "/api/session", nil, &sessionView{})
			}
		})
	}
}
