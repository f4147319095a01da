package lb

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"stickylab/internal/testenv"
)

// chromium starts Debian's chromium for t, headless, with a fresh profile,
// and returns its tab (with a minute to live) and what closes it. The
// profile allows third-party cookies, Chrome's default, which Debian's
// Chromium turns off (cookies then blocked for UserPreferences), and the
// browser accepts the listeners' self-signed certificates.
func chromium(t *testing.T) (context.Context, func()) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium", "the browser tests drive Debian's chromium (apt-get install chromium)")
	}
	profile := t.TempDir()
	if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	prefs := `{"profile":{"cookie_controls_mode":0,"block_third_party_cookies":false}}`
	if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(profile),
	)
	tab, cancelTab := chromedp.NewContext(alloc)
	tab, cancelTimeout := context.WithTimeout(tab, time.Minute)
	closeTab := func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	}
	// Started now, so that listeners of its events attach to a running tab.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800)); err != nil {
		closeTab()
		t.Fatalf("start chromium: %v", err)
	}
	return tab, closeTab
}
