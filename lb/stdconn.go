package lb

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// Why: http.Transport puts a kept-alive connection back in its pool, and
// may hand it to a request waiting for one, as soon as a response body has
// been read, before its read loop looks at what is left in the
// connection's buffer. When a target sent more than it announced (an
// unsolicited response, a longer body than its Content-Length, a body on a
// HEAD answer), the next request on that connection, another client's,
// can get those bytes as its answer: the "Unsolicited response received on
// idle HTTP channel" check comes too late when the connection was handed
// on at once (TestTargetLeftoverBytesUnderLoad shows it under load).
//
// The cure: an answer to a request must come, at least in part, from a
// read of the socket made after the request was sent, since a target
// answers only what it has received (http.Transport sends one request at a
// time on a connection). countingConn counts the reads of a target
// connection; sendStd notes the count when it gets a reused connection
// (httptrace's GotConn, before the request is written) and refuses an
// answer that needed no read since: it was in the buffer before the
// request went out. The connection is closed.
//
// What no client of HTTP/1.1 can tell apart is left: bytes that arrive
// while the connection sits idle but are read only after the next request
// went out look like its answer (the fast engine's pool and http.Transport
// alike).

// errEarlyAnswer is an answer that was on the connection before its
// request was sent: the target sent more than it announced for an earlier
// request.
var errEarlyAnswer = errors.New("lb: the target's answer was on the connection before the request was sent")

// countingConn is a connection to a target that counts its reads that
// brought bytes.
type countingConn struct {
	net.Conn
	reads atomic.Uint64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.reads.Add(1)
	}
	return n, err
}

// dialCounting returns a DialContext that dials with d and wraps each
// connection in a countingConn.
func dialCounting(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c}, nil
	}
}

// newDialer is the dialer of the targets' connections: the connect
// timeout and TCP keep-alive probes.
func newDialer() *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
}

// sendStd sends req through the shared http.Transport and refuses an
// answer that came from bytes read before req was sent on a reused
// connection (errEarlyAnswer), closing that connection.
func (b *Balancer) sendStd(req *http.Request) (*http.Response, error) {
	var conn *countingConn
	var mark uint64
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if !info.Reused {
			return // a new connection holds nothing from before
		}
		c := info.Conn
		if tc, ok := c.(*tls.Conn); ok {
			c = tc.NetConn()
		}
		if cc, ok := c.(*countingConn); ok {
			conn, mark = cc, cc.reads.Load()
		}
	}}
	resp, err := b.transport.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil || conn == nil || conn.reads.Load() != mark {
		return resp, err
	}
	resp.Body.Close()
	conn.Close()
	return nil, errEarlyAnswer
}
