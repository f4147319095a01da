package lb

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
)

// Why a path beside httputil.ReverseProxy: for the common request (one
// with no body and no upgrade, to an http target), ReverseProxy's own work
// was a seventh of the balancer's CPU and 14 of its 19 allocations per
// request: cloning the request and its header, a context and a trace for
// 1xx responses, a media type parse to choose a flush interval.
// scripts/bench-lb.sh measured 15% less CPU per request without it, which
// is what brings lb within its target against HAProxy on a small machine.
//
// proxyDirect does for such a request what ReverseProxy does, step for
// step and in the same order, with the same hooks: rewrite (Rewrite),
// modifyResponse (ModifyResponse), proxyError (ErrorHandler) and the same
// Transport. What differs is where things live: the outbound request is a
// copy kept with the front end connection, and it shares the inbound
// request's header map, also the connection's, which nothing reads after
// the request. Everything else (bodies, upgrades, https targets, requests from
// other servers through ServeHTTP) goes through ReverseProxy.
// TestDirectMatchesReverseProxy sends the same requests both ways and
// compares what the target and the client receive.

// canProxyDirect reports whether the front end's request r, read by the
// fast parser (no body), may take proxyDirect to t.
func canProxyDirect(r *http.Request, t *target) bool {
	return t.conns != nil && r.Header["Upgrade"] == nil && plainQuery(r.URL.RawQuery) &&
		!namesInboundHeader(r.Header["Connection"])
}

// namesInboundHeader reports whether the Connection header values conn
// name, as hop-by-hop, a header that Rewrite reads from the inbound
// request: ReverseProxy removes it from its copy only, where proxyDirect
// would remove it from the one map both share.
func namesInboundHeader(conn []string) bool {
	return hasToken(conn, "X-Forwarded-For") || hasToken(conn, "X-Amzn-Trace-Id")
}

// plainQuery reports whether ReverseProxy would forward query as it is:
// it re-encodes a query with a semicolon or a bad escape, and such a
// request goes through it.
func plainQuery(query string) bool {
	for i := 0; i < len(query); i++ {
		switch query[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(query) || !isHex(query[i+1]) || !isHex(query[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

var (
	teTrailers  = []string{"trailers"}
	noUserAgent = []string{""} // present and empty: no User-Agent is sent
)

// directRequests are proxyDirect's requests, kept with the front end
// connection and reused from one request to the next: the inbound request
// as ReverseProxy would see it (its context is the exchange), and the
// outbound one with its URL.
type directRequests struct {
	in, out http.Request
	outURL  url.URL
}

// proxyDirect proxies r, for which canProxyDirect holds, through w.
func (b *Balancer) proxyDirect(w *response, r *http.Request, ex *exchange) {
	if b.onDirect != nil {
		b.onDirect()
	}
	h := r.Header
	// The inbound and outbound requests share the header map. Rewrite
	// reads the inbound X-Forwarded-For and X-Amzn-Trace-Id before it
	// sets the outbound ones, so that is safe as long as they stay in the
	// map until then (namesInboundHeader): Rewrite replaces both.
	d := &w.conn.direct
	d.in = *r.WithContext(ex)
	d.out = d.in
	d.outURL = *r.URL
	out := &d.out
	out.URL = &d.outURL
	out.Body = nil
	out.Close = false

	trailers := hasToken(h["Te"], "trailers")
	removeHopHeaders(h)
	if trailers {
		h["Te"] = teTrailers
	}
	delete(h, "Forwarded")
	delete(h, "X-Forwarded-Host")
	delete(h, "X-Forwarded-Proto")
	b.rewrite(&httputil.ProxyRequest{In: &d.in, Out: out})
	if _, ok := h["User-Agent"]; !ok {
		// Our transport sends none anyway; http.Transport, which a
		// retry to an https target goes through, would send its own.
		h["User-Agent"] = noUserAgent
	}

	ex.direct = w
	res, err := b.proxy.Transport.RoundTrip(out)
	ex.direct = nil
	if err != nil {
		b.proxyError(w, out, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// No upgrade was asked for (canProxyDirect): ReverseProxy's
		// answer is 502, and it leaves the body to the transport.
		if err := b.modifyResponse(res); err != nil {
			res.Body.Close()
			b.proxyError(w, out, err)
			return
		}
		b.proxyError(w, out, fmt.Errorf("target switched protocol to %q, which the client did not ask for", first(res.Header, "Upgrade")))
		return
	}
	removeHopHeaders(res.Header)
	if err := b.modifyResponse(res); err != nil {
		res.Body.Close()
		b.proxyError(w, out, err)
		return
	}
	dst := w.header
	appendHeader(dst, res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)

	// ReverseProxy (FlushInterval 0) flushes the head at once and every
	// write after it for a stream: an unknown length or server-sent
	// events.
	stream := res.ContentLength == -1 || isEventStream(first(res.Header, "Content-Type"))
	if stream {
		w.FlushError()
	}
	if err := b.copyBody(w, res.Body, stream); err != nil {
		// Under the front end ReverseProxy logs and returns; the front
		// end then closes the connection of a short response.
		res.Body.Close()
		b.proxy.ErrorLog.Printf("lb: copying the response body: %v", err)
		return
	}
	res.Body.Close() // now, to fill res.Trailer
	if len(res.Trailer) > 0 {
		w.FlushError()
	}
	if len(res.Trailer) == announced {
		appendHeader(dst, res.Trailer)
		return
	}
	for k, vv := range res.Trailer {
		for _, v := range vv {
			dst.Add(http.TrailerPrefix+k, v)
		}
	}
}

// isEventStream reports whether the Content-Type ct is text/event-stream
// as ReverseProxy decides it (mime.ParseMediaType), which allocates: only
// a value that may be one is parsed.
func isEventStream(ct string) bool {
	base, _, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(base), "text/event-stream") {
		return false
	}
	base, _, _ = mime.ParseMediaType(ct)
	return base == "text/event-stream"
}

// forward1xx passes a 1xx informational response (103 Early Hints) of the
// target to the client, as ReverseProxy's trace does.
func forward1xx(w *response, code int, header http.Header) {
	h := w.Header()
	appendHeader(h, header)
	w.WriteHeader(code)
	clear(h)
}

// appendHeader adds src's values to dst, as http.Header.Add would for
// src's canonical keys. A key dst keeps from an earlier response, with no
// values, takes the new ones without an allocation.
func appendHeader(dst, src http.Header) {
	for k, vv := range src {
		dst[k] = append(dst[k], vv...)
	}
}

// copyBody copies a response body to w, flushing after each write when
// stream is set. It returns the first write error, or a read error other
// than EOF; a read error is also logged, as ReverseProxy does.
func (b *Balancer) copyBody(w *response, body io.Reader, stream bool) error {
	pool := b.proxy.BufferPool
	buf := pool.Get()
	defer pool.Put(buf)
	for {
		n, rerr := body.Read(buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			b.proxy.ErrorLog.Printf("lb: reading the response body: %v", rerr)
		}
		if n > 0 {
			m, werr := w.Write(buf[:n])
			if werr == nil && m != n {
				werr = io.ErrShortWrite
			}
			if werr == nil && stream {
				werr = w.FlushError()
			}
			if werr != nil {
				return werr
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// hopHeaders are the hop-by-hop headers a proxy removes both ways (RFC
// 9110, section 7.6.1, and the older ones ReverseProxy still removes).
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders removes from h the headers that Connection names and the
// hop-by-hop headers.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}
