package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"stickylab/lb/internal/neterr"
)

// runHealthChecks checks every registered target now and then every
// HealthInterval until ctx is done, one goroutine per target, and returns
// when they have all stopped. Draining and unused targets are not checked.
//
// A check passes when the target answers HealthPath with a status of
// Config.HealthMatcher (default any 2xx) within HealthTimeout; ALB's thresholds then apply (see pool.observe).
func (b *Balancer) runHealthChecks(ctx context.Context) {
	tr := &http.Transport{
		DialContext: (&net.Dialer{Timeout: b.cfg.HealthTimeout}).DialContext,
		// A fresh connection per check, as ALB opens them: a pooled
		// connection could hide a target that no longer accepts new ones.
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		Timeout:       b.cfg.HealthTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var wg sync.WaitGroup
	for _, t := range b.pool.all {
		wg.Go(func() { b.checkLoop(ctx, client, t) })
	}
	wg.Wait()
}

func (b *Balancer) checkLoop(ctx context.Context, client *http.Client, t *target) {
	tick := time.NewTicker(b.cfg.HealthInterval)
	defer tick.Stop()
	for {
		if t.loadState().registered() {
			ok, why, code := b.check(ctx, client, t)
			if ctx.Err() != nil {
				return
			}
			if !ok {
				t.failCode.Store(&code)
			}
			b.pool.observe(t, ok, why, b.cfg.HealthyThreshold, b.cfg.UnhealthyThreshold)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-t.wake:
		}
	}
}

// check runs one health check of t and says why it passed or failed, and
// when it failed, ALB's reason code for it.
func (b *Balancer) check(ctx context.Context, client *http.Client, t *target) (ok bool, why, code string) {
	u := *t.url
	u.Path = b.cfg.HealthPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, "bad health check URL", ReasonFailedHealthChecks
	}
	req.Header.Set("User-Agent", "stickylab-lb-health-checker/1.0")
	resp, err := client.Do(req)
	if err != nil {
		code = ReasonFailedHealthChecks
		if isTimeout(err) {
			code = ReasonTimeout
		}
		return false, "health check: " + neterr.Reason(err), code
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if !b.healthy(resp.StatusCode) {
		return false, fmt.Sprintf("health check: status %d", resp.StatusCode), ReasonResponseCodeMismatch
	}
	return true, "health check passed", ""
}

// healthy reports whether a health check's status code passes: the
// configured matcher, else any 2xx.
func (b *Balancer) healthy(code int) bool {
	if b.cfg.HealthMatcher != nil {
		return b.cfg.HealthMatcher.Match(code)
	}
	return code >= 200 && code <= 299
}

// checkSoon asks for a check of t now instead of at the next interval.
func (b *Balancer) checkSoon(t *target) {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}
