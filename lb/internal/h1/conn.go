package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// One client connection of a Server: reading its requests, answering
// them in turn, and the 100-continue reader.

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

// heldReader is a socket reader that can run work inside one wait for
// readability (sockIO.holdRead).
type heldReader interface {
	holdRead(f func() bool) error
}

// errWouldBlock is what a heldReader's Read returns inside holdRead when
// nothing has arrived yet.
var errWouldBlock = errors.New("h1: no data yet")

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
