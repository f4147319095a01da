package lb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stickylab/lb/internal/h1"
)

// directCase is one request of TestDirectMatchesReverseProxy, as raw bytes
// after the request line's method and target.
type directCase struct {
	name   string
	line   string // method and request target
	head   string // header lines, each ending in \r\n
	direct bool   // proxyDirect serves it (else ReverseProxy)
}

var directCases = []directCase{
	{"hop-by-hop and forwarded headers", "GET /plain?a=1&b=%20x", "User-Agent: t\r\nConnection: keep-alive, X-Hop\r\nX-Hop: gone\r\n" +
		"Keep-Alive: timeout=5\r\nProxy-Connection: x\r\nTe: deflate, Trailers\r\nX-Forwarded-For: 192.0.2.1\r\n" +
		"X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nForwarded: for=192.0.2.9\r\n" +
		"X-Amzn-Trace-Id: Root=1-67891233-ABCDEF012345678912345678\r\nAccept: */*\r\n", false},
	// Connection naming a header, or a forwarding header, sends the
	// request through ReverseProxy, whose copy of the header alone loses
	// it (canProxyDirect).
	{"hop-by-hop and forwarded headers, Connection naming none", "GET /plain?a=1&b=%20x", "User-Agent: t\r\nConnection: keep-alive, Close\r\n" +
		"Keep-Alive: timeout=5\r\nProxy-Connection: x\r\nTe: deflate, Trailers\r\nX-Forwarded-For: 192.0.2.1\r\n" +
		"X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nForwarded: for=192.0.2.9\r\n" +
		"X-Amzn-Trace-Id: Root=1-67891233-ABCDEF012345678912345678\r\nAccept: */*\r\n", false},
	{"hop-by-hop headers and a trace id", "GET /plain?a=1&b=%20x", "User-Agent: t\r\nConnection: keep-alive\r\n" +
		"Keep-Alive: timeout=5\r\nProxy-Connection: x\r\nTe: deflate, Trailers\r\n" +
		"X-Amzn-Trace-Id: Root=1-67891233-ABCDEF012345678912345678\r\nAccept: */*\r\n", true},
	{"no user agent", "GET /plain", "", true},
	{"Te without trailers", "GET /plain", "Te: deflate\r\n", true},
	{"two X-Forwarded-For lines", "GET /plain", "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2, 192.0.2.3\r\n", false},
	{"HEAD", "HEAD /plain", "", true},
	{"target's hop-by-hop headers", "GET /hop", "", true},
	{"chunked stream", "GET /stream", "", true},
	{"server-sent events", "GET /sse", "", true},
	{"trailers", "GET /trailer", "Te: trailers\r\n", true},
	{"103 Early Hints", "GET /early", "", true},
	{"no content", "GET /204", "", true},
	{"not modified", "GET /304", "If-None-Match: \"v1\"\r\n", true},
	{"target error status", "GET /500", "", true},
	{"semicolon in the query (re-encoded)", "GET /plain?a=1;b=2", "", false},
	{"bad escape in the query (re-encoded)", "GET /plain?a=%zz", "", false},
}

// directTarget answers each path of directCases and records what it
// received, one line a header, sorted, with the values that differ between
// two balancers masked; the function returned takes the last record.
func directTarget(t testing.TB) (*httptest.Server, func() string) {
	var mu sync.Mutex
	var last string
	// The balancer's own segments; the client's in directCases has capitals.
	traceRand := regexp.MustCompile(`1-[0-9a-f]{8}-[0-9a-f]{24}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return // the balancers' health checks
		}
		lines := []string{r.Method + " " + r.RequestURI + " " + r.Proto, "Host: " + r.Host}
		for k, vv := range r.Header {
			for _, v := range vv {
				switch k {
				case "X-Amzn-Trace-Id":
					v = traceRand.ReplaceAllString(v, "1-<epoch>-<random>")
				case "X-Forwarded-Port":
					v = "<each balancer's own>"
				}
				lines = append(lines, k+": "+v)
			}
		}
		slices.Sort(lines[2:])
		mu.Lock()
		last = strings.Join(lines, "\n")
		mu.Unlock()
		h := w.Header()
		switch r.URL.Path {
		case "/plain":
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Add("Set-Cookie", "app=1; Path=/")
			h.Add("X-Multi", "a")
			h.Add("X-Multi", "b")
			io.WriteString(w, "plain body\n")
		case "/hop":
			h.Set("Connection", "X-Resp-Hop")
			h.Set("X-Resp-Hop", "1")
			h.Set("Keep-Alive", "timeout=1")
			h.Set("Proxy-Authenticate", "Basic")
			h.Set("Upgrade", "h2c")
			io.WriteString(w, "hop\n")
		case "/stream":
			io.WriteString(w, "part 1\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part 2\n")
		case "/sse":
			h.Set("Content-Type", "Text/Event-Stream; charset=utf-8")
			h.Set("Content-Length", "12")
			io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, "\n")
		case "/trailer":
			h.Set("Trailer", "X-Checksum")
			io.WriteString(w, "body with a trailer\n")
			h.Set("X-Checksum", "abc")
		case "/early":
			h.Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			h.Del("Link")
			io.WriteString(w, "after hints\n")
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			h.Set("Etag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		case "/500":
			http.Error(w, "broken", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() string {
		mu.Lock()
		defer mu.Unlock()
		got := last
		last = "(nothing)"
		return got
	}
}

// directExchange sends c on a new connection to the balancer at addr and
// returns what the client got, informational responses included, with the
// values that change from one response to the next masked.
func directExchange(t *testing.T, addr string, c directCase) string {
	t.Helper()
	br := sendRaw(t, addr, c.line+" HTTP/1.1\r\nHost: lb.test\r\n"+c.head+"\r\n")
	method, _, _ := strings.Cut(c.line, " ")
	cookieValue := regexp.MustCompile(`^(AWSALB(CORS)?)=[^;]*; Expires=[^;]*;`)
	var b strings.Builder
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s: reading the response: %v", c.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: reading the body: %v", c.name, err)
		}
		fmt.Fprintf(&b, "%s length=%d chunked=%v close=%v\n", resp.Status, resp.ContentLength, slices.Contains(resp.TransferEncoding, "chunked"), resp.Close)
		var lines []string
		for k, vv := range resp.Header {
			for _, v := range vv {
				switch k {
				case "Date":
					v = "<date>"
				case "Set-Cookie":
					v = cookieValue.ReplaceAllString(v, "$1=<value>; Expires=<date>;")
				}
				lines = append(lines, k+": "+v)
			}
		}
		for k, vv := range resp.Trailer {
			lines = append(lines, "trailer "+k+": "+strings.Join(vv, ","))
		}
		slices.Sort(lines)
		b.WriteString(strings.Join(lines, "\n"))
		fmt.Fprintf(&b, "\n\n%q\n", body)
		if resp.StatusCode >= 200 {
			return b.String()
		}
		b.WriteString("--\n")
	}
}

// directPair serves two balancers in front of one directTarget: one with
// proxyDirect, one with every request through ReverseProxy, and counts
// what proxyDirect serves in either.
func directPair(t testing.TB, target string) (viaDirect, viaProxy *running, served *atomic.Int64) {
	u, _ := url.Parse(target)
	cfg := Config{Engine: EngineFast, Targets: []Target{{Name: "t1", URL: u}}, Sticky: StickyDuration, PassiveFailover: true}
	served = new(atomic.Int64)
	count := func() { served.Add(1) }
	viaDirect = serveWith(t, cfg, func(b *Balancer) { setDirect(b, false, count) })
	viaProxy = serveWith(t, cfg, func(b *Balancer) { setDirect(b, true, count) })
	waitHealthy(t, viaDirect)
	waitHealthy(t, viaProxy)
	return viaDirect, viaProxy, served
}

// setDirect sets the direct path's test hooks on every target of b that
// has one: noDirect sends every request through ReverseProxy, onDirect
// counts those the direct path serves.
func setDirect(b *Balancer, noDirect bool, onDirect func()) {
	for _, t := range b.pool.all {
		if p, ok := t.proxy.(*h1.ReverseProxy); ok {
			p.NoDirect, p.OnDirect = noDirect, onDirect
		}
	}
}

// TestDirectMatchesReverseProxy sends the same requests through the front
// end of two balancers, one with proxyDirect and one with every request
// through httputil.ReverseProxy, and requires the target and the client to
// receive the same thing from both: ReverseProxy is proxyDirect's
// reference. h1's test of the same name compares the engine alone, with a
// Rewrite that only sets the URL and X-Forwarded-*; this one goes through
// the balancer's own hooks, which the direct path's shared header map
// constrains (X-Amzn-Trace-Id, X-Forwarded-Port, the stickiness cookie),
// and through its choice of target.
func TestDirectMatchesReverseProxy(t *testing.T) {
	srv, received := directTarget(t)
	viaDirect, viaProxy, served := directPair(t, srv.URL)

	for _, c := range directCases {
		before := served.Load()
		wantClient := directExchange(t, viaProxy.url, c)
		wantTarget := received()
		if served.Load() != before {
			t.Fatalf("%s: proxyDirect served a request of the balancer without it", c.name)
		}
		gotClient := directExchange(t, viaDirect.url, c)
		gotTarget := received()
		if took := served.Load() != before; took != c.direct {
			t.Errorf("%s: proxyDirect served it: %v, want %v", c.name, took, c.direct)
		}
		if gotTarget != wantTarget {
			t.Errorf("%s: the target received\n%s\nwant, as through ReverseProxy:\n%s", c.name, gotTarget, wantTarget)
		}
		if gotClient != wantClient {
			t.Errorf("%s: the client received\n%s\nwant, as through ReverseProxy:\n%s", c.name, gotClient, wantClient)
		}
	}

	// The reference itself, on the points where a mistake would be shared.
	directExchange(t, viaDirect.url, directCases[1])
	got := received()
	for _, want := range []string{"X-Forwarded-For: 192.0.2.1, 127.0.0.1", "X-Forwarded-Proto: http", "Te: trailers",
		"X-Amzn-Trace-Id: Self=1-<epoch>-<random>;Root=1-67891233-ABCDEF012345678912345678"} {
		if !strings.Contains(got, want+"\n") && !strings.HasSuffix(got, want) {
			t.Errorf("the target received\n%s\nwant a line %q", got, want)
		}
	}
	for _, gone := range []string{"Keep-Alive", "Proxy-Connection", "Connection", "X-Forwarded-Host", "Forwarded:"} {
		if strings.Contains(got, "\n"+gone) {
			t.Errorf("the target received\n%s\nwant no %s", got, gone)
		}
	}
	directExchange(t, viaDirect.url, directCases[0])
	if got := received(); strings.Contains(got, "\nX-Hop") {
		t.Errorf("the target received\n%s\nwant no X-Hop, which Connection names", got)
	}
	if hints := directExchange(t, viaDirect.url, directCase{line: "GET /early"}); !strings.Contains(hints, "103 Early Hints") || !strings.Contains(hints, "Link: </style.css>; rel=preload") {
		t.Errorf("the client received\n%s\nwant the 103 with its Link first", hints)
	}
}

// TestDirectFlushesStreamHead: the head of a stream reaches the client
// before any of its body, which a target may send much later (server-sent
// events).
func TestDirectFlushesStreamHead(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "data: late\n\n")
	}))
	t.Cleanup(srv.Close)
	defer close(release)
	u, _ := url.Parse(srv.URL)
	var served atomic.Int64
	r := serveWith(t, Config{Engine: EngineFast, Targets: []Target{{Name: "t1", URL: u}}}, func(b *Balancer) { setDirect(b, false, func() { served.Add(1) }) })
	waitHealthy(t, r)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.url+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("no response head while the body waits: %v", err)
	}
	resp.Body.Close()
	if served.Load() != 1 {
		t.Errorf("proxyDirect served %d requests, want 1", served.Load())
	}
}

// FuzzDirectMatchesReverseProxy is TestDirectMatchesReverseProxy for any
// header lines: each line of the input that is a header the request may
// carry without a body becomes one, and the target and the client must
// receive the same through proxyDirect as through ReverseProxy.
func FuzzDirectMatchesReverseProxy(f *testing.F) {
	for _, c := range directCases {
		f.Add(c.line[strings.Index(c.line, " ")+1:], strings.ReplaceAll(c.head, "\r\n", "\n"))
	}
	f.Add("/plain", "Connection: X-Forwarded-For\nX-Forwarded-For: 192.0.2.1\n")
	f.Add("/plain", "Connection: x-amzn-trace-id, close\nX-Amzn-Trace-Id: Root=1-67891233-ABCDEF012345678912345678\n")
	f.Add("/plain", "Te: trailer\u017f\n")
	f.Add("/plain", "Connection: Cookie, User-Agent\nCookie: a=1\nUser-Agent: u\n")
	srv, received := directTarget(f)
	viaDirect, viaProxy, _ := directPair(f, srv.URL)
	f.Fuzz(func(t *testing.T, path, headers string) {
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "/healthz") || strings.ContainsAny(path, " \r\n\x00#") {
			return
		}
		var head strings.Builder
		for line := range strings.Lines(headers) {
			line = strings.TrimRight(line, "\n")
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(value, "\r\n\x00") || strings.Trim(name, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				continue
			}
			switch http.CanonicalHeaderKey(name) {
			case "Content-Length", "Transfer-Encoding", "Expect", "Host":
				continue // a body, or a second Host: not this test's subject
			}
			head.WriteString(line + "\r\n")
		}
		c := directCase{name: "fuzzed", line: "GET " + path, head: head.String()}
		wantClient := directExchange(t, viaProxy.url, c)
		wantTarget := received()
		gotClient := directExchange(t, viaDirect.url, c)
		gotTarget := received()
		if gotTarget != wantTarget {
			t.Errorf("for\n%s\nthe target received\n%s\nwant, as through ReverseProxy:\n%s", head.String(), gotTarget, wantTarget)
		}
		if gotClient != wantClient {
			t.Errorf("for\n%s\nthe client received\n%s\nwant, as through ReverseProxy:\n%s", head.String(), gotClient, wantClient)
		}
	})
}
