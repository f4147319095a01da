package sessionstore

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"time"
)

// respConn is one connection of trackConn, commands pipelined on it: the
// calls waiting for replies queue in pending in the order they were sent.
type respConn struct {
	nc      net.Conn
	r       *bufio.Reader // read by trackConn.read only
	timeout time.Duration

	mu      sync.Mutex // protects buf, failed, and sending in the order of pending
	buf     []byte
	failed  error
	pending chan *call
	deadCh  chan struct{} // closed by fail
}

// call is one command waiting for its reply.
type call struct {
	then func(any, error)
	done chan struct{}
	v    any
	err  error
}

// finish runs then and wakes the caller; called by the reader only.
func (c *call) finish() {
	if c.then != nil {
		c.then(c.v, c.err)
	}
	close(c.done)
}

// send writes a command and queues its call; nil when rc has failed. The
// reply comes to the reader, which finishes the call.
func (rc *respConn) send(then func(any, error), args ...string) *call {
	c := &call{then: then, done: make(chan struct{})}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.failed != nil {
		return nil
	}
	select {
	case rc.pending <- c:
	default:
		return nil // thousands of commands in flight: let go-redis's pool take it
	}
	rc.buf = appendCommand(rc.buf[:0], args...)
	rc.nc.SetWriteDeadline(time.Now().Add(rc.timeout))
	if _, err := rc.nc.Write(rc.buf); err != nil {
		rc.nc.Close() // the reader fails, and finishes c with the others
	}
	return c
}

// fail marks rc failed, closes it, and finishes every queued call with err
// (wrapped in errConnLost), which it returns.
func (rc *respConn) fail(err error) error {
	rc.nc.Close()
	rc.mu.Lock()
	rc.failed = err
	rc.mu.Unlock()
	close(rc.deadCh)
	lost := fmt.Errorf("%w: %w", errConnLost, err)
	for {
		select {
		case c := <-rc.pending:
			c.err = lost
			c.finish()
		default:
			return err
		}
	}
}

// dead is closed once rc has failed.
func (rc *respConn) dead() <-chan struct{} { return rc.deadCh }
