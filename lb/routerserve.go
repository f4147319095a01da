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
)

// Serve is Balancer.Serve for a Router: every group's health checks, the
// listener on proxyLn (net/http's server, the listener's idle timeout as
// its keep-alive idle timeout) and the admin API on adminLn (nil: none),
// until ctx is done, then a graceful shutdown. It may be called once, and
// no group's own Serve may be called.
func (rt *Router) Serve(ctx context.Context, proxyLn, adminLn net.Listener) error {
	if proxyLn == nil {
		return errors.New("lb: Serve: no proxy listener")
	}
	for _, b := range rt.order {
		if !b.serving.CompareAndSwap(false, true) {
			return errors.New("lb: Serve called twice")
		}
	}
	defer func() {
		for _, b := range rt.order {
			b.stopOnce.Do(func() { close(b.stop) })
		}
	}()
	proxyBase, cancelProxy := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProxy()
	adminBase, cancelAdmin := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAdmin()
	if a, ok := proxyLn.Addr().(*net.TCPAddr); ok {
		port := strconv.Itoa(a.Port)
		for _, b := range rt.order {
			b.proxyPort.Store(&port)
		}
	}

	errLog := slog.NewLogLogger(rt.cfg.Logger.Handler(), slog.LevelWarn)
	var handlers sync.WaitGroup // requests being served, upgraded ones included
	proxy := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			rt.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       rt.rules.Load().IdleTimeout,
		MaxHeaderBytes:    serverMaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return proxyBase },
		ErrorLog:          errLog,
	}
	var admin *http.Server
	if adminLn != nil {
		admin = &http.Server{
			Handler:           rt.primary.adminHostCheck(rt.AdminHandler()),
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
	for _, b := range rt.order {
		wg.Go(func() { b.runHealthChecks(healthCtx) })
	}
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
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rt.cfg.ShutdownTimeout)
	defer cancel()
	for _, srv := range []*http.Server{proxy, admin} {
		if srv == nil {
			continue
		}
		if err := srv.Shutdown(shutdownCtx); err != nil {
			rt.cfg.Logger.Warn("lb: shutdown timed out, closing connections", "err", err)
			srv.Close()
		}
	}
	cancelProxy()
	handlers.Wait()
	stopHealth()
	wg.Wait()
	for _, b := range rt.order {
		b.transport.CloseIdleConnections()
		b.closeTargetConns()
	}
	return serveErr
}
