package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWriteHead: a request written by the fast path reads back as the same
// request, as http.Request.Write's would.
func TestWriteHead(t *testing.T) {
	cases := []struct {
		name, method, url string
		header            http.Header
		wantURI           string
		wantLength        string
	}{
		{"get with query", "GET", "http://t/a/b?x=1&y=%20", http.Header{"Accept": {"*/*"}}, "/a/b?x=1&y=%20", ""},
		{"escaped path", "GET", "http://t/a%2Fb/%C3%A9", nil, "/a%2Fb/%C3%A9", ""},
		{"empty path", "GET", "http://t", nil, "/", ""},
		{"force query", "GET", "http://t/p?", nil, "/p?", ""},
		{"post without body", "POST", "http://t/logout", nil, "/logout", "0"},
		{"delete", "DELETE", "http://t/x", nil, "/x", ""},
		{"repeated header", "GET", "http://t/", http.Header{"Cookie": {"a=1", "b=2"}}, "/", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "shop.example"
			for k, v := range tc.header {
				req.Header[k] = v
			}
			req.Header.Set("User-Agent", "") // as ReverseProxy leaves it
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			writeHead(bw, req)
			bw.Flush()
			got, err := http.ReadRequest(bufio.NewReader(&buf))
			if err != nil {
				t.Fatalf("written request %q does not parse: %v", buf.String(), err)
			}
			if got.Method != tc.method || got.RequestURI != tc.wantURI || got.Host != "shop.example" {
				t.Errorf("read %s %s host %s, want %s %s host shop.example", got.Method, got.RequestURI, got.Host, tc.method, tc.wantURI)
			}
			if l := got.Header.Get("Content-Length"); l != tc.wantLength {
				t.Errorf("Content-Length %q, want %q", l, tc.wantLength)
			}
			if _, ok := got.Header["User-Agent"]; ok {
				t.Errorf("empty User-Agent was sent")
			}
			for k, v := range tc.header {
				if g := got.Header[k]; strings.Join(g, "|") != strings.Join(v, "|") {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

// TestWriteHeadersCutsLineBreaks: a value with a line break cannot add a
// header.
func TestWriteHeadersCutsLineBreaks(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	writeHeaders(bw, http.Header{"X-A": {"ok\r\nX-Injected: 1"}})
	bw.Flush()
	if got := buf.String(); got != "X-A: ok\r\n" {
		t.Errorf("wrote %q, want %q", got, "X-A: ok\r\n")
	}
}

// rawTarget accepts connections and runs serve on each.
func rawTarget(t *testing.T, serve func(c net.Conn)) *Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	p := NewClient(l.Addr().String(), time.Second, 1<<20)
	t.Cleanup(p.Close)
	return p
}

// answerRequests reads requests (with their bodies) and answers each with
// "ok", keeping the connection, at most max times.
func answerRequests(c net.Conn, max int) {
	br := bufio.NewReader(c)
	for range max {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

func get(t *testing.T, p *Client, method string, body io.Reader, timeout time.Duration) (string, error) {
	t.Helper()
	return getSince(t, p, method, body, timeout, time.Now())
}

// getSince is get for a request that began at began.
func getSince(t *testing.T, p *Client, method string, body io.Reader, timeout time.Duration, began time.Time) (string, error) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://target/", body)
	if body == nil {
		req.Body = nil
	}
	p.headerTimeout = timeout // the tests' requests are one at a time
	resp, err := p.Do(req, &Options{Sent: began})
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b), err
}

// TestConnPoolReuseAndStale: a kept-alive connection is reused; one the
// target closed while idle is replaced without the request failing.
func TestConnPoolReuseAndStale(t *testing.T) {
	var conns atomic.Int32
	p := rawTarget(t, func(c net.Conn) {
		conns.Add(1)
		answerRequests(c, 2) // then closes: the next request finds it stale
	})
	for i := range 5 {
		got, err := get(t, p, "GET", nil, time.Second)
		if err != nil || got != "ok" {
			t.Fatalf("request %d: %q, %v", i, got, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections for 5 requests at 2 per connection, want 3", n)
	}
	// A request with a body is not sent on a connection that the peek
	// finds closed: it goes on a new one.
	get(t, p, "GET", nil, time.Second) // second use of the third connection: now closed by the target
	waitFor(t, "the target to close its connection", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle) == 1 && !p.idle[0].alive()
	})
	if got, err := get(t, p, "POST", strings.NewReader("form=1"), time.Second); err != nil || got != "ok" {
		t.Errorf("POST after the target closed the idle connection: %q, %v", got, err)
	}
}

// TestConnPoolVanishedTarget: a connection that the target closed while it
// sat idle is not written to. Behind a target that has vanished from the
// network (docker compose kill: the process closes its sockets, then its
// address disappears) nothing would answer or reset what is written, and
// the request would wait for the whole header timeout. Here the target's
// kernel is still there and would wake the pool with its ACK, so the test
// checks what was written to the closed connection: nothing.
func TestConnPoolVanishedTarget(t *testing.T) {
	written := make(chan int64, 4)
	p := rawTarget(t, func(c net.Conn) {
		answerRequests(c, 1)
		c.(*net.TCPConn).CloseWrite() // the FIN of the process's exit
		n, _ := io.Copy(io.Discard, c)
		written <- n
	})
	if got, err := get(t, p, "GET", nil, time.Second); err != nil || got != "ok" {
		t.Fatalf("first request: %q, %v", got, err)
	}
	waitFor(t, "the target to close its connection", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle) == 1 && !p.idle[0].alive()
	})
	p.mu.Lock()
	closed := p.idle[0]
	closed.idleAt = time.Now().Add(-peekAfter) // idle long enough to be peeked at
	p.mu.Unlock()
	if got, err := get(t, p, "GET", nil, 2*time.Second); err != nil || got != "ok" {
		t.Fatalf("request after the target closed the idle connection: %q, %v", got, err)
	}
	p.mu.Lock()
	_, kept := p.open[closed]
	p.mu.Unlock()
	if kept {
		t.Fatal("got the closed connection still in the pool, want it closed")
	}
	// Closed by the pool, so the target's copy has ended.
	if n := <-written; n != 0 {
		t.Errorf("got %d bytes written to the connection the target had closed, want none", n)
	}
}

// TestConnPoolRestartedTarget: when a reused connection turns out closed
// by the target, the other idle ones (closed too, by a restart) are not
// tried one after the other: the retry goes on a new connection.
func TestConnPoolRestartedTarget(t *testing.T) {
	var accepted atomic.Int32
	p := rawTarget(t, func(c net.Conn) {
		if accepted.Add(1) <= 2 {
			return // the two pooled connections: closed by the "restart"
		}
		answerRequests(c, 10)
	})
	now := time.Now()
	for range 2 {
		cc, err := p.dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.put(cc, now)
	}
	waitFor(t, "the target to close both connections", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle) == 2 && !p.idle[0].alive() && !p.idle[1].alive()
	})
	p.mu.Lock()
	for _, cc := range p.idle {
		cc.idleAt = time.Now() // just used: taken without a peek
	}
	p.mu.Unlock()
	if got, err := get(t, p, "GET", nil, 2*time.Second); err != nil || got != "ok" {
		t.Errorf("request after the target restarted: %q, %v (want ok on a new connection)", got, err)
	}
}

// TestConnPoolHeaderTimeout: the response head must come within the
// timeout of the request being written, however long the upload took (here
// a request that began a minute ago, with a timeout of ten seconds), and a
// target that never answers gets a timeout.
func TestConnPoolHeaderTimeout(t *testing.T) {
	p := rawTarget(t, func(c net.Conn) { answerRequests(c, 1) })
	if got, err := getSince(t, p, "POST", strings.NewReader("partpartpartpart"), 10*time.Second, time.Now().Add(-time.Minute)); err != nil || got != "ok" {
		t.Errorf("long upload: got %q, %v, want ok", got, err)
	}

	silent := rawTarget(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	_, err := get(t, silent, "GET", nil, 100*time.Millisecond)
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Errorf("silent target: err %v, want a timeout", err)
	}
}

// TestConnPoolKeptDeadline: a connection whose last response left its
// header deadline in place gets a fresh one for its next exchange, however
// long it waited in the pool: here the deadline it kept has passed.
func TestConnPoolKeptDeadline(t *testing.T) {
	var conns atomic.Int32
	p := rawTarget(t, func(c net.Conn) {
		conns.Add(1)
		answerRequests(c, 10)
	})
	for i := range 3 {
		if i > 0 {
			p.mu.Lock()
			cc := p.idle[0]
			if cc.dl.IsZero() {
				p.mu.Unlock()
				t.Fatalf("request %d: got no deadline kept on the idle connection, want the last one's", i)
			}
			cc.dl = time.Now().Add(-time.Second) // waited in the pool past it
			cc.nc.SetDeadline(cc.dl)
			cc.idleAt = time.Now() // just used: taken without a peek
			p.mu.Unlock()
		}
		if got, err := get(t, p, "GET", nil, 10*time.Second); err != nil || got != "ok" {
			t.Fatalf("request %d: got %q, %v, want ok", i, got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("got %d connections, want the one kept alive", n)
	}
}

// waitFor polls cond until it holds or 10 seconds have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
