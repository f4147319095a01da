package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Server limits. WriteTimeout stays unset on both servers: responses may
// stream for as long as the target streams (server-sent events, downloads),
// and the admin event stream is endless by design.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 60 * time.Second // ALB's default connection idle timeout
	maxHeaderBytes    = 64 << 10         // ALB refuses a request head over 64 KiB (requestcheck.go)
)

// Serve runs the health checks, the proxy on proxyLn (served by
// Config.Engine) and the admin API on adminLn (nil: no admin server; only
// for the hosts of adminHostCheck) until ctx is done, then shuts down
// gracefully: the listeners close, in-flight requests finish within
// Config.ShutdownTimeout, event streams end, and Serve returns nil. It
// returns an error when a server fails; it may be called only once. Serve
// closes the listeners.
func (b *Balancer) Serve(ctx context.Context, proxyLn, adminLn net.Listener) error {
	if proxyLn == nil {
		return errors.New("lb: Serve: no proxy listener")
	}
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

	if a, ok := proxyLn.Addr().(*net.TCPAddr); ok {
		port := strconv.Itoa(a.Port)
		b.proxyPort.Store(&port)
	}
	proxy := b.newProxyServer(proxyBase)
	var admin *http.Server
	if adminLn != nil {
		admin = &http.Server{
			Handler:           b.adminHostCheck(b.AdminHandler()),
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    serverMaxHeaderBytes,
			BaseContext:       func(net.Listener) context.Context { return adminBase },
			ConnContext:       withAdminConn,
			ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
		}
	}

	healthCtx, stopHealth := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { b.runHealthChecks(healthCtx) })
	errc := make(chan error, 2)
	wg.Go(func() { errc <- proxy.Serve(proxyLn) })
	if admin != nil {
		wg.Go(func() { errc <- admin.Serve(adminLn) })
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
	err := proxy.Shutdown(shutdownCtx)
	proxyLn.Close() // in case the server had not yet taken it
	if err != nil {
		b.log.Warn("lb: shutdown timed out, closed the proxy's connections", "err", err)
		// Requests still waiting for their target end now.
		b.closeTargetConns()
	}
	if admin != nil {
		if err := admin.Shutdown(shutdownCtx); err != nil {
			b.log.Warn("lb: shutdown timed out, closing admin connections", "err", err)
			admin.Close()
		}
	}
	// Requests still running, upgraded (WebSocket) connections included,
	// end with their context.
	cancelProxy()
	proxy.Wait()
	stopHealth()
	wg.Wait()
	b.transport.CloseIdleConnections()
	b.closeTargetConns()
	return serveErr
}
