package h1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// proxyCases are requests that the direct path takes (direct) or leaves to
// httputil.ReverseProxy, each with the header lines it sends.
var proxyCases = []struct {
	name, line, head string
	direct           bool
}{
	{"plain", "GET /plain?a=1", "User-Agent: t\r\nAccept: */*\r\n", true},
	{"hop-by-hop", "GET /plain", "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nTe: deflate, trailers\r\n", true},
	// ReverseProxy hides these from Rewrite's outbound request only.
	{"X-Forwarded-For", "GET /plain", "X-Forwarded-For: 192.0.2.1\r\n", false},
	{"forwarded headers", "GET /plain", "X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nForwarded: for=192.0.2.9\r\n", false},
	{"no user agent", "GET /plain", "", true},
	{"HEAD", "HEAD /plain", "", true},
	{"target's hop-by-hop headers", "GET /hop", "", true},
	{"stream", "GET /stream", "", true},
	{"trailers", "GET /trailer", "Te: trailers\r\n", true},
	{"103 Early Hints", "GET /early", "", true},
	{"no content", "GET /204", "", true},
	{"Connection naming a header", "GET /plain", "Connection: X-Hop\r\nX-Hop: gone\r\n", false},
	{"semicolon in the query", "GET /plain?a=1;b=2", "", false},
	{"a body", "POST /plain", "Content-Length: 2\r\n\r\nhi", false},
}

// proxyTarget answers each path of proxyCases with, in a header, what it
// received: the request line and the sorted header lines.
func proxyTarget(t *testing.T) *url.URL {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lines := []string{r.Method + " " + r.RequestURI + " " + r.Proto, "Host: " + r.Host}
		for k, vv := range r.Header {
			lines = append(lines, k+": "+strings.Join(vv, ", "))
		}
		slices.Sort(lines[2:])
		h := w.Header()
		h.Set("X-Received", strings.Join(lines, " | "))
		switch r.URL.Path {
		case "/plain":
			h.Set("Content-Type", "text/plain")
			io.WriteString(w, "plain body\n")
		case "/hop":
			h.Set("Connection", "X-Resp-Hop")
			h.Set("X-Resp-Hop", "1")
			h.Set("Keep-Alive", "timeout=1")
			io.WriteString(w, "hop\n")
		case "/stream":
			io.WriteString(w, "part 1\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part 2\n")
		case "/trailer":
			h.Set("Trailer", "X-Checksum")
			io.WriteString(w, "body\n")
			h.Set("X-Checksum", "abc")
		case "/early":
			h.Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			h.Del("Link")
			io.WriteString(w, "after hints\n")
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

// respWriterKey is the context key under which proxyServer's handler keeps
// the ResponseWriter, for its transport (a balancer keeps it in its
// per-request state).
type respWriterKey struct{}

// proxyServer serves a ReverseProxy to target on a Server, with a
// transport that sends through a Client with the Options of the
// connection being served, and returns its address; set, when not nil,
// sets the proxy's test hooks before it serves.
func proxyServer(t *testing.T, target *url.URL, set func(*ReverseProxy)) string {
	client := NewClient(target.Host, 5*time.Second, 1<<20)
	t.Cleanup(client.Close)
	rp := &ReverseProxy{Proxy: &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			o := OptionsFor(req.Context().Value(respWriterKey{}).(http.ResponseWriter))
			if o == nil {
				o = new(Options)
			}
			return client.Do(req, o)
		}),
	}}
	if set != nil {
		set(rp)
	}
	srv := NewServer(func(ctx context.Context, w http.ResponseWriter, r *http.Request) {
		rp.Serve(context.WithValue(ctx, respWriterKey{}, w), w, r)
	}, ServerConfig{Logger: slog.New(slog.DiscardHandler), BaseContext: context.Background(),
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10})
	return serveOn(t, srv.Serve, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Wait()
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDirectMatchesReverseProxy sends the same requests through two
// ReverseProxies on a Server, one with the direct path and one with every
// request through httputil.ReverseProxy, and requires the target and the
// client to receive the same (the X-Received header carries what the target
// received), and the direct path to take what it should.
func TestDirectMatchesReverseProxy(t *testing.T) {
	target := proxyTarget(t)
	var taken atomic.Int64
	direct := proxyServer(t, target, func(p *ReverseProxy) { p.OnDirect = func() { taken.Add(1) } })
	reference := proxyServer(t, target, func(p *ReverseProxy) { p.NoDirect = true })
	for _, c := range proxyCases {
		before := taken.Load()
		got := proxyExchange(t, direct, c.line, c.head)
		took := taken.Load() > before
		want := proxyExchange(t, reference, c.line, c.head)
		if got != want {
			t.Errorf("%s: the client received\n%s\nwant, as through httputil.ReverseProxy:\n%s", c.name, got, want)
		}
		if took != c.direct {
			t.Errorf("%s: the direct path took it: %v, want %v", c.name, took, c.direct)
		}
	}
}

// proxyExchange sends one request and returns the responses received
// (1xx included) with their sorted headers, Date and the target's address
// masked, body and trailers.
func proxyExchange(t *testing.T, addr, line, head string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if !strings.Contains(head, "\r\n\r\n") {
		head += "\r\n"
	}
	io.WriteString(c, line+" HTTP/1.1\r\nHost: proxy.test\r\n"+head)
	method, _, _ := strings.Cut(line, " ")
	br := bufio.NewReader(c)
	var b strings.Builder
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s: reading the response: %v", line, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: reading the body: %v", line, err)
		}
		fmt.Fprintf(&b, "%s length=%d chunked=%v close=%v\n", resp.Status, resp.ContentLength, slices.Contains(resp.TransferEncoding, "chunked"), resp.Close)
		var lines []string
		for k, vv := range resp.Header {
			if k != "Date" {
				lines = append(lines, k+": "+strings.Join(vv, ", "))
			}
		}
		for k, vv := range resp.Trailer {
			lines = append(lines, "trailer "+k+": "+strings.Join(vv, ", "))
		}
		slices.Sort(lines)
		fmt.Fprintf(&b, "%s\n%q\n", strings.Join(lines, "\n"), body)
		if resp.StatusCode >= 200 {
			return b.String()
		}
	}
}
