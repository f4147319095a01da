package h1

import (
	"errors"
	"io"
	"time"
)

// connBody is a response body that gives its connection back to the pool
// once read to the end. Like every response body it is used by one
// goroutine at a time.
type connBody struct {
	rc       io.ReadCloser
	cc       *clientConn
	pool     *Client
	stop     func() bool // unregisters the context's interrupt (false if it fired); nil when none
	writeErr chan error  // the request body's writer, nil without a body
	reusable bool
	done     bool
	fixed    lengthBody // rc, when the fast head parser framed the body
}

func (b *connBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err != nil {
		b.finish(errors.Is(err, io.EOF))
	}
	return n, err
}

func (b *connBody) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

// finish ends the exchange: the connection goes back to the pool when the
// body ended cleanly, the request was written in full, nothing interrupted
// it and the target sent nothing more; otherwise it closes.
//
// Bytes past the response (more than its Content-Length, a body on a HEAD
// answer, an unsolicited response) would be read as the answer to the
// connection's next request, another client's: such a connection is
// dropped, as http.Transport drops one ("Unsolicited response received on
// idle HTTP channel"). Its request would also go unsent: a deferred write
// is sent by a read of the socket, and there is none while bytes are
// buffered.
func (b *connBody) finish(eof bool) {
	b.done = true
	reuse := (b.stop == nil || b.stop()) && eof && b.reusable && b.cc.br.Buffered() == 0
	if b.writeErr != nil {
		// The target may have answered before reading the whole request
		// body: its writer may still run.
		select {
		case err := <-b.writeErr:
			reuse = reuse && err == nil
		default:
			reuse = false
			b.cc.nc.Close()
			<-b.writeErr
		}
	}
	if reuse {
		b.pool.put(b.cc, time.Now())
		return
	}
	b.pool.discard(b.cc)
}
