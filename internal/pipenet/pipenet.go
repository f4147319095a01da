// Package pipenet is a net.Listener of in-memory connections (net.Pipe) for
// tests: unlike loopback ones, a goroutine blocked on them is durably
// blocked, so that a testing/synctest bubble can wait for it and keep its
// clock still.
package pipenet

import (
	"net"
	"sync"
)

// Listener is a net.Listener whose connections are made by Dial.
type Listener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

// Listen returns a new Listener.
func Listen() *Listener {
	return &Listener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *Listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *Listener) Addr() net.Addr { return addr{} }

// Dial connects a client to the listener, waiting for it to accept, and
// returns the client's end.
func (l *Listener) Dial() net.Conn {
	server, client := net.Pipe()
	l.conns <- server
	return client
}

type addr struct{}

func (addr) Network() string { return "pipe" }
func (addr) String() string  { return "pipe" }
