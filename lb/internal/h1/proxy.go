package h1

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
// ReverseProxy does for such a request what its httputil.ReverseProxy
// does, step for step and in the same order, with the same hooks: Rewrite,
// ModifyResponse, ErrorHandler and the same Transport. What differs is
// where things live: the outbound request is a copy kept with the front end
// connection, and it shares the inbound request's header map, also the
// connection's, which nothing reads after the request. Everything else
// (bodies, upgrades, requests from other servers) goes through
// httputil.ReverseProxy. lb's TestDirectMatchesReverseProxy and its fuzz
// target send the same requests both ways, through the balancer's hooks,
// and compare what the target and the client receive.
//
// The shared header map is the direct path's contract with its hooks:
// Rewrite does not read hop-by-hop headers from the inbound request (they
// are gone from the map when it runs), and reads a header of the inbound
// request before it sets it on the outbound one. A request with Forwarded
// or X-Forwarded-* headers, which ReverseProxy removes from its copy only
// (so that Rewrite sees them on the inbound request and not on the
// outbound one), takes ReverseProxy's path. The Transport must be done with
// the request's header when RoundTrip returns: Client is, http.Transport
// is not (it may still be writing a request the target answered early),
// so a direct proxy is only for targets served by a Client.

// ReverseProxy is an httputil.ReverseProxy with the direct path for a
// Server's plain requests. Its Proxy needs Rewrite and Transport; see the
// contract above. On the direct path the target's 1xx responses reach the
// client through the Options of the connection being served: the
// Transport passes OptionsFor(w) of the request's ResponseWriter to
// Client.Do (lb keeps w in its per-request state; TestDirectMatchesReverseProxy
// keeps it in the context). A Transport that does not drops them.
type ReverseProxy struct {
	Proxy *httputil.ReverseProxy // its hooks, and every request the direct path does not take

	NoDirect bool   // tests: every request through Proxy (the reference for the direct path)
	OnDirect func() // tests: called for each request the direct path serves
}

// ServeHTTP proxies r as Proxy.ServeHTTP would.
func (p *ReverseProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.Serve(r.Context(), w, r)
}

// Serve is ServeHTTP for a request whose context is ctx (r's own is not
// looked at), as a Server's HandlerFunc gets it.
func (p *ReverseProxy) Serve(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	if rw, ok := w.(*response); ok && !p.NoDirect && r == &rw.conn.reqHead.req && canProxyDirect(r) {
		p.direct(ctx, rw, r)
		return
	}
	p.Proxy.ServeHTTP(w, r.WithContext(ctx))
}

// canProxyDirect reports whether the front end's request r, read by its
// fast parser, may take the direct path: no body, no upgrade, a query
// ReverseProxy forwards as it is, no forwarding header, and a Connection
// header that names no other header (ReverseProxy removes those from its
// copy only, where the direct path would remove them from the one map
// both share).
func canProxyDirect(r *http.Request) bool {
	h := r.Header
	return r.Body == http.NoBody && h["Upgrade"] == nil && plainQuery(r.URL.RawQuery) &&
		h["X-Forwarded-For"] == nil && h["X-Forwarded-Host"] == nil && h["X-Forwarded-Proto"] == nil &&
		h["Forwarded"] == nil && namesNoHeader(h["Connection"])
}

// namesNoHeader reports whether the Connection header values conn hold
// only the options close and keep-alive.
func namesNoHeader(conn []string) bool {
	for _, v := range conn {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.Trim(f, " \t"); f != "" && !asciiEqualFold(f, "close") && !asciiEqualFold(f, "keep-alive") {
				return false
			}
		}
	}
	return true
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

// directRequests are the direct path's requests, kept with the front end
// connection and reused from one request to the next: the inbound request
// as ReverseProxy would see it, and the outbound one with its URL.
type directRequests struct {
	in, out http.Request
	outURL  url.URL
	pr      httputil.ProxyRequest
}

// direct proxies r, for which canProxyDirect holds, through w.
func (p *ReverseProxy) direct(ctx context.Context, w *response, r *http.Request) {
	if p.OnDirect != nil {
		p.OnDirect()
	}
	h := r.Header
	// The inbound and outbound requests share the header map (see the
	// contract above).
	d := &w.conn.direct
	d.in = *r.WithContext(ctx)
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
	d.pr = httputil.ProxyRequest{In: &d.in, Out: out} // kept: Rewrite, a func value, makes it escape
	p.Proxy.Rewrite(&d.pr)
	if _, ok := h["User-Agent"]; !ok {
		// Our transport sends none anyway; http.Transport, which a
		// retry to an https target may go through, would send its own.
		h["User-Agent"] = noUserAgent
	}

	o := &w.conn.opts
	o.direct = w
	res, err := p.Proxy.Transport.RoundTrip(out)
	o.direct = nil
	if err != nil {
		p.fail(w, out, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// No upgrade was asked for (canProxyDirect): ReverseProxy's
		// answer is 502, and it leaves the body to the transport.
		if err := p.modifyResponse(res); err != nil {
			res.Body.Close()
			p.fail(w, out, err)
			return
		}
		p.fail(w, out, fmt.Errorf("target switched protocol to %q, which the client did not ask for", first(res.Header, "Upgrade")))
		return
	}
	removeHopHeaders(res.Header)
	if err := p.modifyResponse(res); err != nil {
		res.Body.Close()
		p.fail(w, out, err)
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
	if err := p.copyBody(w, res.Body, stream); err != nil {
		// Under the front end ReverseProxy logs and returns; the front
		// end then closes the connection of a short response.
		res.Body.Close()
		p.logf("h1: copying the response body: %v", err)
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

// modifyResponse runs rp's ModifyResponse, if any.
func (p *ReverseProxy) modifyResponse(res *http.Response) error {
	if p.Proxy.ModifyResponse == nil {
		return nil
	}
	return p.Proxy.ModifyResponse(res)
}

// fail answers a request whose exchange failed: rp's ErrorHandler, or
// ReverseProxy's default, a logged error and 502.
func (p *ReverseProxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	if p.Proxy.ErrorHandler != nil {
		p.Proxy.ErrorHandler(w, r, err)
		return
	}
	p.logf("http: proxy error: %v", err)
	w.WriteHeader(http.StatusBadGateway)
}

// logf logs to rp's ErrorLog; without one, nothing is logged (ReverseProxy
// would use the log package's global logger).
func (p *ReverseProxy) logf(format string, args ...any) {
	if p.Proxy.ErrorLog != nil {
		p.Proxy.ErrorLog.Printf(format, args...)
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
func (p *ReverseProxy) copyBody(w *response, body io.Reader, stream bool) error {
	var buf []byte
	if pool := p.Proxy.BufferPool; pool != nil {
		buf = pool.Get()
		defer pool.Put(buf)
	} else {
		buf = make([]byte, 32<<10)
	}
	for {
		n, rerr := body.Read(buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			p.logf("h1: reading the response body: %v", rerr)
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
	if len(h) < len(hopHeaders) {
		// Fewer keys than hop-by-hop names (nearly every request and
		// response): look at each key once rather than hash every name.
		for k := range h {
			if isHopHeader(k) {
				delete(h, k)
			}
		}
		return
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// isHopHeader reports whether the canonical key k is one of hopHeaders.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}
