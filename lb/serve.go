package lb

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"stickylab/internal/unusedconn"
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
	return serveGroups(ctx, proxyLn, adminLn, served{
		groups: []*Balancer{b}, engine: b.cfg.Engine, listener: proxyListener{handler: b.serve, idle: idleTimeout},
		admin: func() http.Handler { return b.adminHostCheck(b.AdminHandler()) }, log: b.log, shutdownTimeout: b.cfg.ShutdownTimeout,
	})
}

// served is what serveGroups serves: a Balancer, or a Router's groups.
type served struct {
	groups   []*Balancer // their health checks run; their connections close at the end
	engine   string      // Config.Engine, the proxy listener's
	listener proxyListener
	admin    func() http.Handler // the admin API, host check included
	log      *slog.Logger
	// shutdownTimeout is how long in-flight requests have to finish.
	shutdownTimeout time.Duration
	// extra, when set, returns one more server with its listener (nil:
	// none), served and shut down with the others: a Router's
	// http_redirect.
	extra func(proxyLn net.Listener, errLog *log.Logger) (*http.Server, net.Listener, error)
}

// serveGroups is Serve of a Balancer and of a Router: the groups' health
// checks, the proxy listener on proxyLn, the admin API on adminLn (nil:
// none) and s.extra until ctx is done, then the graceful shutdown.
func serveGroups(ctx context.Context, proxyLn, adminLn net.Listener, s served) error {
	if proxyLn == nil {
		return errors.New("lb: Serve: no proxy listener")
	}
	for _, b := range s.groups {
		if !b.serving.CompareAndSwap(false, true) {
			return errors.New("lb: Serve called twice")
		}
	}
	defer func() {
		for _, b := range s.groups {
			b.stopOnce.Do(func() { close(b.stop) })
		}
	}()
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	var extra *http.Server
	var extraLn net.Listener
	if s.extra != nil {
		var err error
		if extra, extraLn, err = s.extra(proxyLn, errLog); err != nil {
			proxyLn.Close()
			if adminLn != nil {
				adminLn.Close()
			}
			return err
		}
	}

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
		for _, b := range s.groups {
			b.proxyPort.Store(&port)
		}
	}
	proxy := newProxyServer(s.engine, s.listener, proxyBase, s.log)
	var admin *http.Server
	if adminLn != nil {
		admin = &http.Server{
			Handler:           s.admin(),
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    serverMaxHeaderBytes,
			BaseContext:       func(net.Listener) context.Context { return adminBase },
			ConnContext:       withAdminConn,
			ErrorLog:          errLog,
		}
	}

	healthCtx, stopHealth := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, b := range s.groups {
		wg.Go(func() { b.runHealthChecks(healthCtx) })
	}
	errc := make(chan error, 3)
	wg.Go(func() { errc <- proxy.Serve(proxyLn) })
	// The admin and extra servers, as the std proxy server, close at once
	// on shutdown a connection that never sent a byte (a browser's
	// speculative connection to the dashboard).
	if admin != nil {
		wg.Go(func() { errc <- unusedconn.Serve(admin, adminLn) })
	}
	if extra != nil {
		wg.Go(func() { errc <- unusedconn.Serve(extra, extraLn) })
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		serveErr = fmt.Errorf("lb: serve: %w", err)
	}
	cancelAdmin()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	err := proxy.Shutdown(shutdownCtx)
	proxyLn.Close() // in case the server had not yet taken it
	if err != nil {
		s.log.Warn("lb: shutdown timed out, closed the proxy's connections", "err", err)
		// Requests still waiting for their target end now.
		for _, b := range s.groups {
			b.closeTargetConns()
		}
	}
	for _, srv := range []*http.Server{extra, admin} {
		if srv == nil {
			continue
		}
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.log.Warn("lb: shutdown timed out, closing connections", "err", err)
			srv.Close()
		}
	}
	// Requests still running, upgraded (WebSocket) connections included,
	// end with their context.
	cancelProxy()
	proxy.Wait()
	stopHealth()
	wg.Wait()
	for _, b := range s.groups {
		b.transport.CloseIdleConnections()
		b.closeTargetConns()
	}
	return serveErr
}
