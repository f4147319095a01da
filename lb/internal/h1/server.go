package h1

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.1 with keep-alive, one goroutine per connection
// that reads a request, runs its handler and writes the response, then
// waits for the next. It is made for a proxy: its handler is usually a
// ReverseProxy sending to a Client.
//
// Why not http.Server: it starts a second goroutine for every request that
// reads ahead to notice a client hanging up, and parks, wakes and cancels it
// around each request; with the exchange to the target that is four
// goroutine switches and a per-request context for work a proxy does in
// microseconds. scripts/bench-lb.sh measured a quarter less CPU per request
// without it. What it costs: a client that hangs up is noticed when its
// response is written, not while the handler works (a request's context
// never reports it).
//
// What it refuses before any handler runs is what http.Server refuses,
// with the same status (server_test.go compares them). Limits are
// http.Server's: request heads of at most maxHeaderBytes (431 beyond) read
// within readHeaderTimeout, idleTimeout between requests, no limit on
// reading bodies or writing responses (streams). No TLS, no HTTP/2.
type Server struct {
	handler           HandlerFunc
	log               *slog.Logger
	base              context.Context // parent of every request's context
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	maxHeaderBytes    int64

	mu        sync.Mutex // guards conns and listeners
	conns     map[*conn]struct{}
	listeners map[net.Listener]struct{}
	active    sync.WaitGroup // connections being served, hijacked ones excluded
	shutdown  atomic.Bool
	date      atomic.Pointer[cachedDate] // the Date header of the current second
}

// HandlerFunc serves a request, as an http.Handler, with its context given
// apart: r.Context() is not the request's (setting it would cost every
// request a copy of r).
type HandlerFunc func(ctx context.Context, w http.ResponseWriter, r *http.Request)

// OptionsFor returns the options of a request sent to a target while
// serving w: for a w of the front end, its connection's (Client.do then
// builds the response in the connection's storage and does not watch the
// context, which never reports a client leaving); nil for any other w.
func OptionsFor(w http.ResponseWriter) *Options {
	rw, ok := w.(*response)
	if !ok || rw.hijacked {
		return nil
	}
	return &rw.conn.opts
}

// ServerConfig configures a Server. Every field is required.
type ServerConfig struct {
	Logger *slog.Logger // where accept failures and handler panics go
	// BaseContext is the parent of every request's context, with
	// http.LocalAddrContextKey added; a handler of an upgraded
	// connection should end it when BaseContext ends.
	BaseContext       context.Context
	ReadHeaderTimeout time.Duration // for a request's head (the first one's wait included)
	IdleTimeout       time.Duration // between two requests of a connection
	MaxHeaderBytes    int64         // the most bytes of a request head: 431 beyond
}

// NewServer returns a server of h with cfg's limits.
func NewServer(h HandlerFunc, cfg ServerConfig) *Server {
	return &Server{handler: h, log: cfg.Logger, base: cfg.BaseContext, readHeaderTimeout: cfg.ReadHeaderTimeout,
		idleTimeout: cfg.IdleTimeout, maxHeaderBytes: cfg.MaxHeaderBytes,
		conns: make(map[*conn]struct{}), listeners: make(map[net.Listener]struct{})}
}

// Serve accepts connections on l until Shutdown closes it, and returns
// http.ErrServerClosed then; it returns l's error if accepting fails
// otherwise.
func (f *Server) Serve(l net.Listener) error {
	f.mu.Lock()
	if f.shutdown.Load() {
		f.mu.Unlock()
		l.Close()
		return http.ErrServerClosed
	}
	f.listeners[l] = struct{}{}
	f.mu.Unlock()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if f.shutdown.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait and retry,
				// as http.Server does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				f.log.Warn("h1: accept failed, retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := f.newConn(nc)
		f.mu.Lock()
		if f.shutdown.Load() {
			f.mu.Unlock()
			nc.Close()
			continue
		}
		f.conns[c] = struct{}{}
		f.active.Add(1)
		f.mu.Unlock()
		go c.serve(f)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// forget stops tracking c; hijacked reports a connection handed to the
// handler, which now owns it.
func (f *Server) forget(c *conn, hijacked bool) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	if !hijacked {
		c.nc.Close()
	}
	f.active.Done()
}

// stopAccepting makes serve return once its listener is closed, and close
// new connections that were accepted meanwhile.
func (f *Server) stopAccepting() {
	f.mu.Lock() // orders with serve's f.active.Add
	f.shutdown.Store(true)
	f.mu.Unlock()
}

// close closes idle connections now and the others as they finish their
// request, and waits for them until ctx is done; then it makes every read
// and write of the others fail, and returns ctx's error without waiting for
// them (wait does; a handler waiting for something else than its client,
// a target, is the caller's to end). The caller has called stopAccepting
// and closed the listener.
func (f *Server) close(ctx context.Context) error {
	f.stopAccepting()
	done := make(chan struct{})
	go func() {
		f.active.Wait()
		close(done)
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		f.mu.Lock()
		for c := range f.conns {
			if c.state.Load() == connIdle {
				// Unblocks its wait for a next request.
				c.nc.SetReadDeadline(aLongTimeAgo)
			}
		}
		f.mu.Unlock()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			// Every read and write fails from now on; each connection
			// closes as its goroutine ends. (Not Close: it waits for a
			// wait held open by holdRead, under f.mu.)
			f.mu.Lock()
			for c := range f.conns {
				c.nc.SetDeadline(aLongTimeAgo)
			}
			f.mu.Unlock()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Shutdown stops accepting and closes the listeners, closes idle
// connections, lets the others finish their request until ctx is done,
// and returns nil once they have. If ctx ends first, every read and write
// of the connections left fails from then on, and Shutdown returns ctx's
// error without waiting for them (Wait does): a handler waiting for
// something else than its client, such as a target, is the caller's to
// end. Upgraded (hijacked) connections are their handler's.
func (f *Server) Shutdown(ctx context.Context) error {
	f.stopAccepting()
	f.mu.Lock()
	for l := range f.listeners {
		l.Close()
	}
	f.mu.Unlock()
	return f.close(ctx)
}

// Wait waits for the connections that Shutdown left to end, hijacked ones
// aside.
func (f *Server) Wait() { f.active.Wait() }
