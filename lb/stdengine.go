package lb

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"stickylab/internal/unusedconn"
)

// The std engine: net/http's server, with the Balancer as its handler,
// httputil.ReverseProxy and http.Transport (stdconn.go), tuned.

// newTransport returns the one transport shared by every target (the std
// engine's, and the fast engine's for https targets and upgrades):
// connections are kept alive and reused (plenty idle per target, so that a
// burst does not end in TIME_WAIT churn), dials and slow targets are
// bounded, and no environment proxy is ever used (Proxy is nil). HTTP/1.1
// only, as ALB speaks to its targets.
//
// A target that sends bytes nobody asked for on an idle connection makes
// http.Transport log "Unsolicited response received on idle HTTP channel"
// through the log package's global logger: unlike http.Server and
// ReverseProxy it has no ErrorLog, so those lines go to standard error,
// not to Config.Logger, and cannot be routed without changing global
// state. The connection is closed either way (and stdconn.go refuses an
// answer already buffered when its request went out).
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         dialCounting(newDialer()), // stdconn.go
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		// Shorter than the keep-alive timeout of usual servers, so that
		// the balancer drops an idle connection before its target does
		// and seldom sends on one being closed (ALB advises targets to
		// keep connections longer than its own idle timeout for the same
		// reason).
		IdleConnTimeout:        30 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		ResponseHeaderTimeout:  targetTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// Pass bodies through as the target encoded them.
		DisableCompression: true,
	}
}

// stdServer is the std engine's server of the proxy listener.
type stdServer struct {
	srv      *http.Server
	handlers sync.WaitGroup // requests being served, upgraded ones included
}

func newStdServer(l proxyListener, base context.Context, log *slog.Logger) *stdServer {
	s := &stdServer{}
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.handlers.Add(1)
			defer s.handlers.Done()
			l.handler(r.Context(), w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    serverMaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         l.tls,
	}
	return s
}

// Serve serves HTTP on l, or HTTPS with HTTP/2 offered by ALPN (net/http's
// server adds h2) when the listener has TLS. A connection that never sent
// a byte is closed at once by Shutdown (unusedconn), not held for its
// first 5 s.
func (s *stdServer) Serve(l net.Listener) error { return unusedconn.Serve(s.srv, l) }

func (s *stdServer) Shutdown(ctx context.Context) error {
	// http.Server.Shutdown closes l and idle connections, and waits for
	// the others to become idle; it does not track hijacked (upgraded)
	// connections, which end when their request's context does.
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

func (s *stdServer) Wait() { s.handlers.Wait() }

// stdProxy is ReverseProxy as it is.
type stdProxy struct{ rp *httputil.ReverseProxy }

func (p stdProxy) Serve(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// stdConns are http.Transport's connections to a target, shared with the
// other targets.
type stdConns struct{ b *Balancer }

func (c stdConns) send(req *http.Request, _ *exchange) (*http.Response, error) {
	return c.b.sendStd(req)
}

// close leaves the shared transport to Serve, which closes its idle
// connections at the end; those in use end with their requests.
func (stdConns) close() {}
