// Package unusedconn lets an http.Server's graceful stop close at once the
// connections that never sent a byte.
//
// http.Server.Shutdown closes idle keep-alive connections at once, but takes
// a connection that has not sent a request yet (StateNew) for busy during
// its first 5 seconds (Go issue 22682): a browser's speculative connection
// or a balancer's spare one held every stop of the app and of the balancer
// that long. A connection that has sent a byte carries a request, which the
// stop lets finish.
package unusedconn

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Serve serves srv on ln, closing at once, when srv shuts down, the
// connections of ln that have not sent a byte; with TLS (srv.TLSConfig set)
// it serves HTTPS, with the certificates of srv.TLSConfig.
func Serve(srv *http.Server, ln net.Listener) error {
	l := NewListener(ln)
	srv.RegisterOnShutdown(l.CloseUnused)
	if srv.TLSConfig != nil {
		return srv.ServeTLS(l, "", "")
	}
	return srv.Serve(l)
}

// Listener is a listener that keeps the connections it accepted until each
// sends its first byte, so that a graceful stop can close those that never
// did (CloseUnused).
type Listener struct {
	net.Listener

	mu sync.Mutex // guards the fields below
	// unused holds the accepted connections that have read no byte and
	// are not closed.
	unused map[*unusedConn]struct{}
	// closing is set by CloseUnused: connections accepted from then on
	// are closed at once.
	closing bool
}

// NewListener wraps ln.
func NewListener(ln net.Listener) *Listener {
	return &Listener{Listener: ln, unused: map[*unusedConn]struct{}{}}
}

func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	uc := &unusedConn{Conn: c, l: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		c.Close()
	} else {
		l.unused[uc] = struct{}{}
	}
	return uc, nil
}

// CloseUnused closes every connection that has not sent a byte yet, and
// any accepted after. It is for http.Server.RegisterOnShutdown, which
// calls it once the listener is closed.
func (l *Listener) CloseUnused() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closing = true
	for c := range l.unused {
		c.Conn.Close()
		delete(l.unused, c)
	}
}

func (l *Listener) forget(c *unusedConn) {
	l.mu.Lock()
	delete(l.unused, c)
	l.mu.Unlock()
}

// unusedConn is a connection of a Listener: it leaves the
// listener's unused set on its first byte read, or when closed.
type unusedConn struct {
	net.Conn
	l    *Listener
	used atomic.Bool
}

func (c *unusedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.used.Load() {
		c.used.Store(true)
		c.l.forget(c)
	}
	return n, err
}

// NetConn returns the connection c wraps, as tls.Conn's does: for what
// only the accepted connection itself offers (a *net.TCPConn's
// SetWriteBuffer, say).
func (c *unusedConn) NetConn() net.Conn { return c.Conn }

func (c *unusedConn) Close() error {
	c.l.forget(c)
	return c.Conn.Close()
}

// CloseWrite and ReadFrom pass a *net.TCPConn's own through, which
// net/http looks for: the half close that lets a client read the answer
// before the connection is reset, and sendfile.

func (c *unusedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *unusedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
