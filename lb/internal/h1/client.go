package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"syscall"
	"time"
)

// Why a client of our own: http.Transport hands every request to two
// goroutines per connection (writeLoop, readLoop) and back, with channels and
// timers on the way; for a proxy that forwards small requests on warm
// connections that hand-off costs more CPU than the HTTP work itself.
// Client runs a plain HTTP/1.1 exchange on the request's own goroutine
// over a kept-alive connection to one target. It does not do upgrades
// (WebSocket) or TLS: leave those to http.Transport.

const (
	// peekAfter: a connection idle this long is peeked at (alive) before
	// it is reused, so that one the target closed meanwhile is never
	// written to. A request written to a closed connection normally comes
	// back reset and is sent again on a new one; but when the target has
	// vanished from the network (a killed container, whose address is
	// gone) no reset ever comes, and the request would wait for the whole
	// header timeout: the poller has forgotten the FIN that came while
	// the connection was idle (see deferWrite). Connections used more
	// recently are taken as they are, which spares a busy balancer most
	// of a system call per request (0.15 peeks per request under
	// bench-lb.sh's load); a sequential client, such as a shell loop of
	// curl, leaves more than that between its requests. A connection used
	// less than that before its target vanished can still wait for the
	// header timeout. Under load a dying target also closes connections in
	// use, and the first exchange that finds one closed drops the idle
	// ones (CloseIdle).
	peekAfter = time.Millisecond

	dialTimeout     = 5 * time.Second
	idleConnTimeout = 30 * time.Second // shorter than usual server keep-alive timeouts, so that idle connections are dropped by us first
	maxIdlePerHost  = 256
)

// Client sends HTTP/1.1 requests to one address over kept-alive
// connections. It is safe for concurrent use.
type Client struct {
	addr          string // host:port to dial
	dialer        net.Dialer
	headerTimeout time.Duration // how long a response head may take, from the request sent
	maxHead       int64         // the most bytes of a response head, 1xx responses included

	mu     sync.Mutex               // guards idle, open and closed
	idle   []*clientConn            // most recently used last
	open   map[*clientConn]struct{} // every connection not yet closed, idle or in use
	closed bool
}

// clientConn is one connection to a target with its buffers.
type clientConn struct {
	nc     net.Conn
	lim    limitReader // under br: limits the response head
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
	dl     time.Time // the deadline set last (zero: none)

	deferrer writeDeferrer // nil where the socket cannot defer writes
	peeker   peeker        // nil where the socket has no peek of its own
}

// A peeker tells whether an idle socket is still open, without blocking
// (sockio_linux.go).
type peeker interface{ alive() bool }

// A writeDeferrer holds what is written until the next read, which sends it
// (sockio_linux.go).
type writeDeferrer interface{ deferWrite(on bool) }

// NewClient returns a client of addr (host:port) whose responses' heads
// must arrive within headerTimeout of their request being sent (as
// http.Transport's ResponseHeaderTimeout) and take at most maxHead bytes,
// 1xx responses included (as its MaxResponseHeaderBytes).
func NewClient(addr string, headerTimeout time.Duration, maxHead int64) *Client {
	return &Client{addr: addr, dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		headerTimeout: headerTimeout, maxHead: maxHead, open: make(map[*clientConn]struct{})}
}

// Options are the options of one request sent with Client.Do, given
// explicitly rather than found in the request's context. The zero value
// is a request of its own; OptionsFor gives those of a request made while
// serving a Server's client, which reuse that connection's storage.
type Options struct {
	// Sent is when the request is sent, read once by the caller (zero:
	// read from the clock).
	Sent time.Time
	// unwatched: the request's context never reports a client leaving
	// (a Server's), so the exchange does not watch it; Close ends
	// exchanges at shutdown instead. Watching costs every request a
	// context.AfterFunc.
	unwatched bool
	// head is where the response head is built, reused from one
	// response to the next (a front end connection's); nil for a new
	// storage each time.
	head *headScratch
	// body is room for the response body (one allocation less), used
	// by the first exchange after bodyFree is set; a retry allocates
	// its own.
	body     connBody
	bodyFree bool
	// direct, when set, gets the target's 1xx informational responses
	// (the direct path's client); else the request's httptrace does.
	direct *response
}

// get returns an idle connection (reused true) or a new one. An idle
// connection is peeked at first when it has been idle for peekAfter or
// more, or always with peek set; one found closed is dropped for the next.
func (p *Client) get(ctx context.Context, now time.Time, peek bool) (cc *clientConn, reused bool, err error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		cc = p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		idle := now.Sub(cc.idleAt)
		if idle >= idleConnTimeout {
			delete(p.open, cc)
			cc.nc.Close()
			continue
		}
		if !peek && (idle < peekAfter || !canPeek) {
			p.mu.Unlock()
			return cc, true, nil
		}
		p.mu.Unlock()
		if cc.alive() {
			return cc, true, nil
		}
		p.discard(cc)
		p.mu.Lock()
	}
	p.mu.Unlock()
	cc, err = p.dial(ctx)
	return cc, false, err
}

// put keeps cc for the next request, or closes it when the pool is full or
// closed.
func (p *Client) put(cc *clientConn, now time.Time) {
	cc.idleAt = now
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdlePerHost {
		delete(p.open, cc)
		p.mu.Unlock()
		cc.nc.Close()
		return
	}
	p.idle = append(p.idle, cc)
	p.mu.Unlock()
}

// discard closes cc for good.
func (p *Client) discard(cc *clientConn) {
	p.mu.Lock()
	delete(p.open, cc)
	p.mu.Unlock()
	cc.nc.Close()
}

// CloseIdle closes the idle connections.
func (p *Client) CloseIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	for _, cc := range idle {
		delete(p.open, cc)
	}
	p.mu.Unlock()
	for _, cc := range idle {
		cc.nc.Close()
	}
}

// Close closes every connection, idle or in use (an exchange on one
// fails at once), and any connection dialled or returned later.
func (p *Client) Close() {
	p.mu.Lock()
	open := p.open
	p.open = make(map[*clientConn]struct{})
	p.idle = nil
	p.closed = true
	p.mu.Unlock()
	for cc := range open {
		cc.nc.Close()
	}
}

// errStaleConn is a kept-alive connection that the target had closed: the
// request did not reach it.
var errStaleConn = errors.New("h1: kept-alive connection closed by the target")

// Do sends req (HTTP/1.1, no upgrade) and reads the response head.
// The response body reads from the connection, which goes back to the pool
// when the body has been read to its end and the response allows it.
//
// A reused connection that turns out closed before any byte of the response
// is retried once on a new connection when the request has no body: the
// target never got it (the race of keep-alive timeouts, which
// http.Transport retries the same way).
//
// Unless o.unwatched, the request's context interrupts the exchange when
// done (a client that left).
func (p *Client) Do(req *http.Request, o *Options) (*http.Response, error) {
	ctx := req.Context()
	now := o.Sent
	for attempt := 0; ; attempt++ {
		if attempt > 0 || now.IsZero() {
			now = time.Now()
		}
		// A body cannot be sent twice: make sure of the connection before
		// writing it.
		cc, reused, err := p.get(ctx, now, req.Body != nil)
		if err != nil {
			return nil, err
		}
		resp, err := p.exchange(ctx, cc, req, now, o)
		if err == nil {
			return resp, nil
		}
		p.discard(cc)
		if reused && errors.Is(err, errStaleConn) {
			// A target that closed one kept-alive connection under us has
			// most likely closed the others too (it restarted, or died):
			// none of them is written to.
			p.CloseIdle()
		}
		if reused && attempt == 0 && req.Body == nil && errors.Is(err, errStaleConn) && ctx.Err() == nil {
			continue
		}
		return nil, err
	}
}

func (p *Client) dial(ctx context.Context) (*clientConn, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	sock := newSockIO(nc)
	cc := &clientConn{nc: nc, bw: bufio.NewWriterSize(sock, 4<<10)}
	cc.lim.r = sock
	cc.br = bufio.NewReaderSize(&cc.lim, 4<<10)
	cc.deferrer, _ = sock.(writeDeferrer)
	cc.peeker, _ = sock.(peeker)
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.open[cc] = struct{}{}
	}
	p.mu.Unlock()
	if closed {
		nc.Close()
		return nil, net.ErrClosed
	}
	return cc, nil
}

// setDeadline sets the connection's deadline timeout from now, or none for
// 0, as keepDeadline does: a response whose body is already buffered leaves
// the header deadline in place for the next exchange, so that a busy
// connection updates its runtime timer about once a second rather than
// twice a request.
func (cc *clientConn) setDeadline(timeout time.Duration, now time.Time) {
	cc.dl = keepDeadline(cc.nc.SetDeadline, cc.dl, timeout, now)
}

// exchange writes req on cc and reads the response head.
func (p *Client) exchange(ctx context.Context, cc *clientConn, req *http.Request, now time.Time, o *Options) (*http.Response, error) {
	var stop func() bool
	if !o.unwatched {
		// A client that leaves, or a shutdown, interrupts the exchange.
		stop = context.AfterFunc(ctx, func() { cc.nc.SetDeadline(aLongTimeAgo) })
	}
	// Made before the exchange, so that a body of known length can be
	// framed inside it: one allocation for both, or none, in o's room.
	var body *connBody
	if o.bodyFree {
		o.bodyFree = false
		body = &o.body
	} else {
		body = new(connBody)
	}
	*body = connBody{cc: cc, pool: p, stop: stop}
	resp, writeErr, err := p.exchangeHead(ctx, cc, req, now, &body.fixed, o)
	if err != nil {
		if stop != nil {
			stop()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	switch {
	case writeErr != nil:
		// The body's writer set a read deadline of its own.
		cc.nc.SetDeadline(time.Time{})
		cc.dl = time.Time{}
	case resp.ContentLength < 0 || int64(cc.br.Buffered()) < resp.ContentLength:
		// The body is still to come, for as long as it takes.
		cc.setDeadline(0, now)
	}
	// After a 101 the connection speaks another protocol: never reused,
	// even when the handler refuses the switch (ReverseProxy does for an
	// upgrade nobody asked for).
	body.rc, body.writeErr = resp.Body, writeErr
	body.reusable = !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	resp.Body = body
	if resp.ContentLength == 0 || req.Method == http.MethodHead {
		body.finish(true)
	}
	return resp, nil
}

// exchangeHead writes req and reads the response head. writeErr, when not
// nil, receives the result of the request body's writer, which may still
// be running.
//
// The head must arrive within headerTimeout of the request being written,
// as with http.Transport's ResponseHeaderTimeout: an upload may take longer.
//
// The response head is built in o.head, a new storage when nil.
func (p *Client) exchangeHead(ctx context.Context, cc *clientConn, req *http.Request, now time.Time, body *lengthBody, o *Options) (resp *http.Response, writeErr chan error, err error) {
	headerTimeout := p.headerTimeout
	if req.Body == nil {
		cc.setDeadline(headerTimeout, now)
		if cc.deferrer != nil {
			// Sent by readResponse's first read.
			cc.deferrer.deferWrite(true)
		}
		err := writeRequest(cc.bw, req)
		if cc.deferrer != nil {
			cc.deferrer.deferWrite(false)
		}
		if err != nil {
			return nil, nil, err
		}
	} else {
		// The target may answer before it has read the whole body (413,
		// a redirect): read while the body is written, as
		// http.Transport does.
		cc.setDeadline(0, now)
		done := make(chan error, 1) // not writeErr itself: a result captured by the goroutine would be on the heap for every request
		go func() {
			err := writeRequest(cc.bw, req)
			if err == nil {
				cc.nc.SetReadDeadline(time.Now().Add(headerTimeout))
			} else {
				cc.nc.Close() // the reader must not wait for an answer to half a request
			}
			done <- err
		}()
		writeErr = done
	}
	// The head, 1xx responses included, may take at most p.maxHead, as
	// with http.Transport's MaxResponseHeaderBytes; the body is not
	// limited.
	cc.lim.limited, cc.lim.n = true, p.maxHead-int64(cc.br.Buffered())
	resp, err = readResponse(ctx, cc.br, req, body, o)
	cc.lim.limited = false
	if err != nil {
		if writeErr != nil {
			cc.nc.Close() // unblocks the writer
			if werr := <-writeErr; werr != nil && !errors.Is(err, errStaleConn) {
				err = werr
			}
		}
		return nil, nil, err
	}
	return resp, writeErr, nil
}

func writeRequest(bw *bufio.Writer, req *http.Request) error {
	if req.Body == nil && req.URL.Opaque == "" && req.Method != http.MethodConnect && req.Trailer == nil && len(req.TransferEncoding) == 0 {
		writeHead(bw, req)
	} else if err := req.Write(bw); err != nil {
		bw.Reset(nil)
		return err
	}
	if err := bw.Flush(); err != nil {
		return staleIf(err)
	}
	return nil
}

// writeHead writes a request without a body as http.Request.Write would,
// without its per-request allocations: the request line from the URL
// (escaped path and query), Host, the headers (ReverseProxy has removed the
// hop-by-hop ones), and Content-Length: 0 for the methods that expect a
// body.
func writeHead(bw *bufio.Writer, req *http.Request) {
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	if p := req.URL.EscapedPath(); p != "" {
		bw.WriteString(p)
	} else {
		bw.WriteByte('/')
	}
	if req.URL.RawQuery != "" || req.URL.ForceQuery {
		bw.WriteByte('?')
		bw.WriteString(req.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	bw.WriteString(host)
	bw.WriteString("\r\n")
	writeHeaders(bw, req.Header)
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	bw.WriteString("\r\n")
}

// readResponse reads a response head, passing 1xx informational responses
// (100 Continue, 103 Early Hints) to the request's trace as http.Transport
// does, so that ReverseProxy forwards them, or to the client of the direct
// path (o.direct).
func readResponse(ctx context.Context, br *bufio.Reader, req *http.Request, body *lengthBody, o *Options) (*http.Response, error) {
	for {
		if _, err := br.Peek(1); err != nil {
			return nil, staleIf(err)
		}
		if resp := readResponseFast(br, req, body, o.head); resp != nil {
			return resp, nil
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if o.direct != nil {
			forward1xx(o.direct, resp.StatusCode, resp.Header)
			continue
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, map[string][]string(resp.Header)); err != nil {
				return nil, err
			}
		}
	}
}

// staleIf marks the errors of a connection the target closed before
// answering: EOF, reset, broken pipe.
func staleIf(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return errors.Join(errStaleConn, err)
	}
	return err
}
