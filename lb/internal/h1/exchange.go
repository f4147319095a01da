package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"syscall"
	"time"
)

// One exchange of a Client: the request written, the response head read,
// and a stale kept-alive connection told apart from a failed target.

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
