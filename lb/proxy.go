package lb

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"stickylab/lb/internal/neterr"
)

// targetTimeout is how long a target may take to send its response headers
// before the balancer answers 504, ALB's default idle timeout.
const targetTimeout = 60 * time.Second

// maxResponseHeaderBytes bounds a target's response head, 1 MiB as
// http.Server bounds a request head by default (http.DefaultMaxHeaderBytes):
// a head beyond it gets the client a 502, as a malformed response does on
// ALB, rather than holding the balancer's memory (http.Transport's own
// default is 10 MiB).
const maxResponseHeaderBytes = http.DefaultMaxHeaderBytes

func (b *Balancer) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:   b.rewrite,
		Transport: &failoverTransport{b: b},
		// No periodic flush: a response of known length goes out in one
		// write. ReverseProxy flushes every write of a streamed response
		// (unknown length, or text/event-stream) by itself. -1 here would
		// cost every response a timer, a goroutine and an extra write
		// syscall for the headers alone.
		FlushInterval:  0,
		BufferPool:     newBufferPool(),
		ModifyResponse: b.modifyResponse,
		ErrorHandler:   b.proxyError,
		ErrorLog:       slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
}

// rewrite points the outbound request at the exchange's target and adds
// ALB's forwarded headers. The Host header is the client's, as ALB keeps it.
func (b *Balancer) rewrite(pr *httputil.ProxyRequest) {
	ex := exchangeOf(pr.In)
	pr.Out.URL.Scheme = ex.target.scheme
	pr.Out.URL.Host = ex.target.host
	b.setForwarded(pr.Out.Header, pr.In, ex.start, &ex.fwd)
	b.setStickinessHeader(pr.Out.Header, ex)
}

// modifyResponse records the target's answer and adds the stickiness
// cookies.
func (b *Balancer) modifyResponse(resp *http.Response) error {
	ex := exchangeOf(resp.Request)
	ex.headers = time.Now()
	ex.status = resp.StatusCode
	ex.fromTgt = true
	b.setCookies(ex, resp.Header, ex.headers)
	return nil
}

// setCookies adds the stickiness cookies for the exchange's final target,
// and the group cookies of a Router's forward with group stickiness.
func (b *Balancer) setCookies(ex *exchange, h http.Header, now time.Time) {
	ex.route.setCookies(h, now)
	s := ex.stick
	switch s.Mode {
	case StickyDuration:
		// Every response refreshes the binding (sliding expiry).
		b.cookies.setDuration(h, now, ex.target.name, ex.client, s.Duration, &ex.setCkies)
		ex.setCkie = true
	case StickyApp:
		set, deleted := appCookieSet(h, s.AppCookie, now)
		// ALB adds AWSALBAPP when the target sets the application cookie
		// and refreshes it (or rewrites a bad one) while the client sends
		// both; the application cookie alone gets nothing. Once the
		// application ends its session (logout), stickiness ends with it.
		if deleted || !(set || ex.sticky.hasBoth) {
			return
		}
		b.cookies.setApp(h, now, ex.target.name, ex.client, s.Duration)
		ex.setCkie = true
	}
}

// proxyError answers a request whose target could not be reached or did not
// answer (after passive failover, if on): 504 when it timed out, else 502, as
// ALB does. A client that left first is recorded as ALB's 460.
func (b *Balancer) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeOf(r)
	if wasCut(r.Context()) {
		b.answer(w, ex, http.StatusBadGateway)
		return
	}
	if r.Context().Err() != nil {
		ex.status = 460
		b.metrics.clientClosed.Inc()
		return
	}
	b.log.Debug("lb: target failed", "target", ex.target.name, "method", r.Method, "path", r.URL.Path, "err", err)
	status := http.StatusBadGateway
	if isTimeout(err) {
		status = http.StatusGatewayTimeout
	}
	b.answer(w, ex, status)
}

func isTimeout(err error) bool { return neterr.Timeout(err) }

// bufferPool recycles the 32 KiB buffers that copy response bodies.
type bufferPool struct{ p sync.Pool }

var _ httputil.BufferPool = (*bufferPool)(nil)

const copyBufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

func (bp *bufferPool) Get() []byte { return bp.p.Get().(*[copyBufferSize]byte)[:] }

func (bp *bufferPool) Put(b []byte) {
	if len(b) == copyBufferSize {
		bp.p.Put((*[copyBufferSize]byte)(b))
	}
}

// appCookieSet reports whether the response headers set the application
// cookie name, and whether they delete it (Max-Age<=0 or Expires in the
// past: a logout).
func appCookieSet(h http.Header, name string, now time.Time) (set, deleted bool) {
	for _, line := range h["Set-Cookie"] {
		if len(line) <= len(name) || line[len(name)] != '=' || line[:len(name)] != name {
			continue
		}
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		if c.MaxAge < 0 || (!c.Expires.IsZero() && !c.Expires.After(now)) {
			set, deleted = false, true
		} else {
			set, deleted = true, false
		}
	}
	return set, deleted
}
