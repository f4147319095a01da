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

	"stickylab/lb/listener"
)

// Serve is Balancer.Serve for a Router: every group's health checks, the
// listener on proxyLn (net/http's server, the listener's idle timeout as
// its keep-alive idle timeout; TLS with HTTP/2 for an HTTPS listener, and
// HTTP/1.1 to the targets still) and the admin API on adminLn (nil: none),
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
		TLSConfig:         rt.tls,
	}
	redirect, redirectLn, err := rt.redirectServer(proxyLn, errLog)
	if err != nil {
		proxyLn.Close()
		if adminLn != nil {
			adminLn.Close()
		}
		return err
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
	errc := make(chan error, 3)
	wg.Go(func() {
		if rt.tls == nil {
			errc <- proxy.Serve(proxyLn)
			return
		}
		// HTTPS, with HTTP/2 offered by ALPN (net/http's server adds h2).
		errc <- proxy.ServeTLS(proxyLn, "", "")
	})
	if admin != nil {
		wg.Go(func() { errc <- admin.Serve(adminLn) })
	}
	if redirect != nil {
		wg.Go(func() { errc <- redirect.Serve(redirectLn) })
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
	for _, srv := range []*http.Server{proxy, redirect, admin} {
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

// SetHTTPRedirectListener gives Serve the listener of the file's
// http_redirect, so that a command can listen before it starts (a port in
// use is then reported first) and a test can use any free port. Without
// it, Serve listens on the file's address itself. Call it before Serve.
func (rt *Router) SetHTTPRedirectListener(ln net.Listener) { rt.redirectLn = ln }

// redirectServer returns the server of the file's http_redirect, with its
// listener: every request is redirected (301) to the HTTPS listener on
// proxyLn's port, path and query kept, as ALB's usual port 80 listener.
// Nil when the file has none.
func (rt *Router) redirectServer(proxyLn net.Listener, errLog *log.Logger) (*http.Server, net.Listener, error) {
	addr := rt.rules.Load().HTTPRedirect
	if addr == "" {
		return nil, nil, nil
	}
	ln := rt.redirectLn
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return nil, nil, fmt.Errorf("lb: http_redirect: %w", err)
		}
	}
	_, port, _ := net.SplitHostPort(proxyLn.Addr().String())
	rd := &listener.Redirect{Protocol: listener.HTTPS, Host: "#{host}", Port: port, Path: "/#{path}", Query: "#{query}", StatusCode: http.StatusMovedPermanently}
	return &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			loc, status := rd.Location(r, 0)
			http.Redirect(w, r, loc, status)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    serverMaxHeaderBytes,
		ErrorLog:          errLog,
	}, ln, nil
}
