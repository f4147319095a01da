package lb

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"stickylab/lb/internal/h1"
)

// The seam between the balancer and its engines (Config.Engine): the one
// file of the balancer that knows which engine serves it. The balancer
// proper (stickiness, cookies, selection, health, failover, draining,
// admin, dashboard) reaches the network only through the three interfaces
// below, set up here for each target and for Serve.
//
//   - std (stdengine.go, stdconn.go): http.Server, httputil.ReverseProxy
//     and http.Transport.
//   - fast: package lb/internal/h1, which knows nothing of ALB: its Server,
//     its ReverseProxy (httputil.ReverseProxy with a direct path for plain
//     requests) and its Client per http target, with http.Transport for
//     what the Client does not take (https targets, upgrades).

// proxyServer is an engine's server of the proxy listener.
type proxyServer interface {
	// Serve accepts connections on l until shutdown.
	Serve(l net.Listener) error
	// Shutdown closes the listener and the idle connections, and lets
	// in-flight requests finish until ctx is done; then it makes the
	// connections left fail, but the upgraded ones, and returns ctx's
	// error.
	Shutdown(ctx context.Context) error
	// Wait waits for the requests that Shutdown left, which end once the
	// base context of the requests is cancelled and the target
	// connections are closed.
	Wait()
}

// proxyHandler is an engine's reverse proxy to one target: it runs the
// balancer's hooks (proxy.go) on a request whose context, given apart, is
// its exchange.
type proxyHandler interface {
	Serve(ctx context.Context, w http.ResponseWriter, r *http.Request)
}

// targetConns are an engine's connections to one target.
type targetConns interface {
	// send sends req, an outbound request of ex, and returns the
	// target's answer (failover.go).
	send(req *http.Request, ex *exchange) (*http.Response, error)
	// close closes every connection, idle or in use.
	close()
}

var (
	_ proxyServer  = (*h1.Server)(nil)
	_ proxyServer  = (*stdServer)(nil)
	_ proxyHandler = (*h1.ReverseProxy)(nil)
	_ proxyHandler = stdProxy{}
	_ targetConns  = stdConns{}
	_ targetConns  = (*fastConns)(nil)
)

// proxyListener is what the server of a proxy listener serves: its
// handler, with the request's context given apart, its keep-alive idle
// timeout, and its TLS configuration (nil: HTTP).
type proxyListener struct {
	handler h1.HandlerFunc
	idle    time.Duration
	tls     *tls.Config
}

// newProxyServer returns engine's server of l, whose requests' contexts
// derive from base. The fast engine serves HTTP only: NewRouter refuses it
// for an HTTPS listener.
func newProxyServer(engine string, l proxyListener, base context.Context, log *slog.Logger) proxyServer {
	if engine == EngineFast && l.tls == nil {
		return h1.NewServer(l.handler, h1.ServerConfig{Logger: log, BaseContext: base,
			ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: l.idle, MaxHeaderBytes: maxHeaderBytes})
	}
	return newStdServer(l, base, log)
}

// attachEngine gives t the engine's connections and reverse proxy. The
// fast engine's pool and direct path are for http targets; https targets
// go through ReverseProxy and http.Transport on both engines.
func (b *Balancer) attachEngine(t *target) {
	if b.cfg.Engine == EngineFast && t.scheme == "http" {
		t.conns = &fastConns{std: stdConns{b}, client: h1.NewClient(dialAddr(t.url), targetTimeout, maxResponseHeaderBytes)}
		t.proxy = &h1.ReverseProxy{Proxy: b.proxy}
		return
	}
	t.conns = stdConns{b}
	t.proxy = stdProxy{b.proxy}
}

// closeTargetConns closes every connection to the targets, idle or in use.
func (b *Balancer) closeTargetConns() {
	for _, t := range b.pool.all {
		t.conns.close()
	}
}

// fastConns are the fast engine's connections to an http target: its own
// client, and http.Transport for protocol upgrades (WebSocket), whose
// response body must stay a two-way connection.
type fastConns struct {
	std    stdConns
	client *h1.Client
}

func (c *fastConns) send(req *http.Request, ex *exchange) (*http.Response, error) {
	if req.Header["Upgrade"] != nil {
		return c.std.send(req, ex)
	}
	// The options of the front end's connection when it serves ex: the
	// response is built in its storage.
	o := h1.OptionsFor(ex.w)
	if o == nil {
		o = new(h1.Options)
	} else {
		// Under a Router, the end of a drain's delay cuts the request
		// through its context (deregcut.go).
		o.Watch(ex.route != nil)
	}
	o.Sent = ex.sent
	return c.client.Do(req, o)
}

func (c *fastConns) close() { c.client.Close() }

// dialAddr is the host:port of u, with the scheme's default port.
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
