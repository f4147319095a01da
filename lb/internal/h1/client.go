package h1

import (
	"bufio"
	"context"
	"net"
	"sync"
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

// Watch sets whether the request's context interrupts the exchange when
// done. The options of a front end's connection are unwatched (its
// contexts never report a client leaving); a caller that cancels a
// request's context itself sets it for that request.
func (o *Options) Watch(on bool) { o.unwatched = !on }

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
