package sessionstore

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"
)

// respConn is one connection of trackConn, commands pipelined on it: the
// calls waiting for replies queue in pending in the order they were sent.
type respConn struct {
	nc      net.Conn
	r       *bufio.Reader // read by trackConn.read only
	timeout time.Duration

	mu       sync.Mutex // protects buf, spare, flushing, failed, and queueing in pending in the order of buf
	buf      []byte     // commands queued and not yet written, in the order of pending
	spare    []byte     // the buffer being written, then reused
	flushing bool       // a sender is writing: the others only queue their command
	failed   error
	pending  chan *call
	deadCh   chan struct{} // closed by fail
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

// send queues a command and its call; nil when rc has failed. The reply
// comes to the reader, which finishes the call.
//
// The commands of concurrent senders share one write: the sender that finds
// no write under way writes, after letting the goroutines that are ready
// to run go first (runtime.Gosched), so that those that send meanwhile
// only queue their command behind its own; it writes until nothing is
// queued. The others return at once. Under load this turns a write (a
// system call that wakes Redis, and for Redis a read and a reply of its
// own) per command into one per batch, as implicitly pipelining clients
// do (redispipe, rueidis); alone, a sender finds nobody to wait for and
// writes at once.
func (rc *respConn) send(then func(any, error), args ...string) *call {
	c := &call{then: then, done: make(chan struct{})}
	rc.mu.Lock()
	if rc.failed != nil {
		rc.mu.Unlock()
		return nil
	}
	select {
	case rc.pending <- c:
	default:
		rc.mu.Unlock()
		return nil // thousands of commands in flight: let go-redis's pool take it
	}
	rc.buf = appendCommand(rc.buf, args...)
	if rc.flushing {
		rc.mu.Unlock()
		return c
	}
	rc.flushing = true
	rc.mu.Unlock()
	rc.flush()
	return c
}

// maxSpare bounds the write buffer kept between writes.
const maxSpare = 64 << 10

// flush writes the queued commands until none is left; called by the one
// sender that set flushing.
func (rc *respConn) flush() {
	runtime.Gosched()
	rc.mu.Lock()
	for len(rc.buf) > 0 && rc.failed == nil {
		b := rc.buf
		rc.buf = rc.spare[:0]
		rc.mu.Unlock()
		rc.nc.SetWriteDeadline(time.Now().Add(rc.timeout))
		_, err := rc.nc.Write(b)
		rc.mu.Lock()
		if cap(b) <= maxSpare {
			rc.spare = b
		} else {
			rc.spare = nil
		}
		if err != nil {
			rc.nc.Close() // the reader fails, and finishes the queued calls
			break
		}
	}
	rc.flushing = false
	rc.mu.Unlock()
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
