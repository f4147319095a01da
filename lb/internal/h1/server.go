package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
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

// connection states, for graceful shutdown.
const (
	connIdle   int32 = iota // waiting for the first byte of a request: may be closed
	connActive              // reading, proxying or writing a request
)

// conn is one client connection.
type conn struct {
	f     *Server
	nc    net.Conn
	lim   limitReader
	br    *bufio.Reader
	bw    *bufio.Writer
	state atomic.Int32
	ctx   context.Context // the connection's context: base plus the local address
	raddr string          // nc.RemoteAddr(), once
	rdl   time.Time       // the read deadline set last (zero: none)
	resp  response        // reused for every request of the connection

	held     heldReader // the socket's reader when it can hold a wait open (Linux)
	inHold   bool       // serving inside held's wait: no hijack
	declined bool       // the fast parser declined the buffered head

	// What heads are parsed into, reused from request to request: the
	// client's, and the targets' (opts.head, for Client.Do).
	reqHead, respHead headScratch
	// The direct path's inbound and outbound requests (proxy.go).
	direct directRequests
	// The options of the requests the handler sends to targets while it
	// serves this connection's request (OptionsFor).
	opts Options
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

// heldReader is a socket reader that can run work inside one wait for
// readability (sockIO.holdRead).
type heldReader interface {
	holdRead(f func() bool) error
}

// errWouldBlock is what a heldReader's Read returns inside holdRead when
// nothing has arrived yet.
var errWouldBlock = errors.New("h1: no data yet")

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

func (f *Server) newConn(nc net.Conn) *conn {
	c := &conn{f: f, nc: nc, raddr: nc.RemoteAddr().String()}
	sock := newSockIO(nc)
	c.lim.r = sock
	c.held, _ = sock.(heldReader)
	c.br = bufio.NewReaderSize(&c.lim, 4<<10)
	c.bw = bufio.NewWriterSize(sock, 4<<10)
	c.ctx = context.WithValue(f.base, http.LocalAddrContextKey, nc.LocalAddr())
	c.resp.conn = c
	c.resp.header = make(http.Header)
	c.opts.unwatched = true
	c.opts.head = &c.respHead
	return c
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

// limitReader lets the request head be read up to a limit, like the
// connReader of http.Server.
type limitReader struct {
	r       io.Reader
	n       int64 // bytes left while limited
	limited bool
}

var errHeadTooLarge = errors.New("h1: request head too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if !l.limited {
		return l.r.Read(p)
	}
	if l.n <= 0 {
		return 0, errHeadTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// serve reads and answers requests until the client or the server closes
// the connection.
func (c *conn) serve(f *Server) {
	hijacked := false
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			f.log.Error("h1: panic serving a request", "remote", c.raddr, "panic", v)
		}
		f.forget(c, hijacked)
	}()
	first := true
	for {
		if f.shutdown.Load() {
			return
		}
		c.state.Store(connIdle)
		wait := f.idleTimeout
		if first {
			wait = f.readHeaderTimeout
		}
		first = false
		c.setReadDeadline(wait)
		var req *http.Request
		if c.held != nil && c.br.Buffered() == 0 {
			var done bool
			if req, done = c.serveHeld(f); done {
				return
			}
		}
		if req == nil {
			if req = c.readRequest(); req == nil {
				return
			}
		}
		keep := c.serveRequest(f, req)
		if c.resp.hijacked {
			hijacked = true
			return
		}
		if !keep {
			return
		}
	}
}

// serveHeld serves requests inside one wait for the socket (holdRead) for
// as long as they are plain: a whole head the fast parser takes, no body,
// no upgrade, which is what keep-alive clients send nearly always. It
// returns done when the connection is to end; otherwise the next request is
// for the general path: req when it is already parsed (an upgrade), else
// its first bytes are buffered.
func (c *conn) serveHeld(f *Server) (req *http.Request, done bool) {
	err := c.held.holdRead(func() bool {
		c.inHold = true
		defer func() { c.inHold = false }()
		for {
			if c.br.Buffered() == 0 {
				if _, err := c.br.Peek(1); err != nil {
					if err == errWouldBlock {
						return false // wait: whatever comes wakes it
					}
					done = true
					return true
				}
			}
			c.state.Store(connActive)
			head, whole := bufferedHead(c.br)
			next := readRequestFast(c.br, head, &c.reqHead)
			if next == nil {
				c.declined = whole
				return true
			}
			if next.Header["Upgrade"] != nil {
				// The upgraded connection is read by other goroutines.
				req = next
				return true
			}
			if !c.serveRequest(f, next) {
				done = true
				return true
			}
			c.state.Store(connIdle)
			if f.shutdown.Load() {
				done = true
				return true
			}
			c.setReadDeadline(f.idleTimeout)
			if c.br.Buffered() == 0 {
				// Read all there was: wait, without a read that would
				// find nothing.
				return false
			}
		}
	})
	if err != nil {
		done = true
	}
	return req, done
}

// readRequest reads the next request's head, which has begun to arrive, and
// answers and returns nil when it cannot.
func (c *conn) readRequest() *http.Request {
	if _, err := c.br.Peek(1); err != nil {
		return nil
	}
	c.state.Store(connActive)
	head, whole := bufferedHead(c.br)
	if !whole {
		c.setReadDeadline(c.f.readHeaderTimeout)
	}
	// At most maxHeaderBytes of a head, counted from the first byte read
	// for it, as http.Server with a MaxHeaderBytes 4096 bytes smaller.
	c.lim.limited, c.lim.n = true, c.f.maxHeaderBytes-int64(c.br.Buffered())
	var req *http.Request
	if !c.declined {
		req = readRequestFast(c.br, head, &c.reqHead)
	}
	c.declined = false
	var err error
	if req == nil {
		// http.ReadRequest drops the Host field, whose presence
		// checkHeader needs for an absolute-form request.
		hasHost := whole && headHasHost(head)
		if req, err = http.ReadRequest(c.br); err == nil {
			err = checkHeader(req, hasHost)
		}
	}
	c.lim.limited = false
	if err != nil && c.lim.n <= 0 {
		// Whatever the parser made of a head cut at the limit, as
		// http.Server's hitReadLimit.
		err = errHeadTooLarge
	}
	if err != nil {
		c.reject(err)
		return nil
	}
	return req
}

// serveRequest checks req, runs it and finishes its response; it reports
// whether the connection may serve another.
func (c *conn) serveRequest(f *Server, req *http.Request) bool {
	if status, msg := checkRequest(req); status != 0 {
		if status == http.StatusExpectationFailed {
			// http.Server's answer: an empty response of its own.
			w := &c.resp
			w.reset(req)
			w.header["Connection"] = []string{"close"}
			w.header["Content-Length"] = []string{"0"}
			w.WriteHeader(status)
			w.finish()
			return false
		}
		c.writeError(status, msg)
		return false
	}
	if req.Body != http.NoBody {
		// Bodies are read for as long as they take, as with
		// http.Server without a ReadTimeout. A request without one
		// leaves the deadline: nothing reads until the next request.
		c.setReadDeadline(0)
	}
	req.RemoteAddr = c.raddr
	return c.handle(f, req)
}

// setReadDeadline sets the read deadline to timeout from now, or none for
// 0, except when the one in force ends less than a 60th of the timeout
// earlier, which it keeps: on a busy keep-alive connection that is one
// runtime timer update a second rather than one a request.
func (c *conn) setReadDeadline(timeout time.Duration) {
	c.rdl = keepDeadline(c.nc.SetReadDeadline, c.rdl, timeout, time.Time{})
}

// handle runs one request and finishes its response; it reports whether
// the connection may serve another.
func (c *conn) handle(f *Server, req *http.Request) bool {
	w := &c.resp
	w.reset(req)
	if req.Body != http.NoBody && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		// Sent when the proxy starts reading the body; the target does
		// not see the Expect (the body follows at once).
		req.Body = &continueReader{rc: req.Body, w: w}
		req.Header.Del("Expect")
	}
	f.handler(c.ctx, w, req)
	if w.hijacked {
		return false
	}
	if f.shutdown.Load() && !w.wroteHeader {
		w.header.Set("Connection", "close")
	}
	if err := w.finish(); err != nil {
		return false
	}
	if w.closeAfter || req.Close || f.shutdown.Load() {
		return false
	}
	// Like http.Server: read what the handler left of the body, up to a
	// point, to keep the connection; beyond it, close.
	if req.Body == http.NoBody {
		return true
	}
	n, err := io.CopyN(io.Discard, req.Body, 256<<10)
	return n < 256<<10 && (err == nil || errors.Is(err, io.EOF))
}

// continueReader sends 100 Continue before the first read of the body.
type continueReader struct {
	rc   io.ReadCloser
	w    *response
	sent bool
}

func (r *continueReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		if !r.w.wroteHeader {
			r.w.conn.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := r.w.conn.bw.Flush(); err != nil {
				return 0, err
			}
		}
	}
	return r.rc.Read(p)
}

func (r *continueReader) Close() error { return r.rc.Close() }
