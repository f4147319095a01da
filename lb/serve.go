package lb

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server limits. WriteTimeout stays unset on both servers: responses may
// stream for as long as the target streams (server-sent events, downloads),
// and the admin event stream is endless by design.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 60 * time.Second // ALB's default connection idle timeout
	maxHeaderBytes    = 64 << 10         // ALB refuses request headers over 64 KiB
)

// Serve runs the health checks, the proxy on proxyLn and the admin API on
// adminLn (nil: no admin server) until ctx is done, then shuts down
// gracefully: the listeners close, in-flight requests finish within
// Config.ShutdownTimeout, event streams end, and Serve returns nil. It
// returns an error when a server fails; it may be called only once. Serve
// closes the listeners.
func (b *Balancer) Serve(ctx context.Context, proxyLn, adminLn net.Listener) error {
	if !b.serving.CompareAndSwap(false, true) {
		return errors.New("lb: Serve called twice")
	}
	defer b.stopOnce.Do(func() { close(b.stop) })

	// Proxied requests and hijacked (WebSocket) connections live under
	// proxyBase, which is cancelled only once the graceful shutdown is over.
	proxyBase, cancelProxy := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProxy()
	// Event streams never end by themselves: their context ends as the
	// shutdown starts.
	adminBase, cancelAdmin := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAdmin()

	errLog := slog.NewLogLogger(b.log.Handler(), slog.LevelWarn)
	servers := []*http.Server{b.newServer(b, proxyBase, errLog)}
	listeners := []net.Listener{proxyLn}
	if adminLn != nil {
		servers = append(servers, b.newServer(b.AdminHandler(), adminBase, errLog))
		listeners = append(listeners, adminLn)
	}

	healthCtx, stopHealth := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { b.runHealthChecks(healthCtx) })
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		wg.Go(func() { errc <- srv.Serve(listeners[i]) })
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		serveErr = fmt.Errorf("lb: serve: %w", err)
	}
	cancelAdmin()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			b.log.Warn("lb: shutdown timed out, closing connections", "err", err)
			srv.Close()
		}
	}
	cancelProxy()
	stopHealth()
	wg.Wait()
	b.transport.CloseIdleConnections()
	for _, t := range b.pool.all {
		if t.conns != nil {
			t.conns.closeIdle(true)
		}
	}
	return serveErr
}

func (b *Balancer) newServer(h http.Handler, base context.Context, errLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          errLog,
	}
}
