package lb

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"

	"stickylab/lb/listener"
)

// Serve is Balancer.Serve for a Router: every group's health checks, the
// listener on proxyLn (served by Config.Engine, the listener's idle
// timeout as its keep-alive idle timeout; TLS with HTTP/2 for an HTTPS
// listener, std engine only, and HTTP/1.1 to the targets still) and the
// admin API on adminLn (nil: none), until ctx is done, then a graceful
// shutdown. It may be called once, and no group's own Serve may be called.
func (rt *Router) Serve(ctx context.Context, proxyLn, adminLn net.Listener) error {
	return serveGroups(ctx, proxyLn, adminLn, served{
		groups: rt.order, engine: rt.cfg.Engine,
		listener: proxyListener{handler: rt.serve, idle: rt.rules.Load().IdleTimeout, tls: rt.tls},
		admin:    func() http.Handler { return rt.primary.adminHostCheck(rt.AdminHandler()) }, log: rt.cfg.Logger,
		shutdownTimeout: rt.cfg.ShutdownTimeout, extra: rt.redirectServer,
	})
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
