package h1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// serverCases are raw requests, each sent on a connection of its own and
// half-closed; what each server answers is compared.
var serverCases = []struct{ name, raw string }{
	{"plain", "GET /a?b=c HTTP/1.1\r\nHost: lb.test\r\nUser-Agent: t\r\n\r\n"},
	{"pipelined", "GET /1 HTTP/1.1\r\nHost: lb.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: lb.test\r\n\r\n"},
	{"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n"},
	{"HTTP/1.0 keep-alive", "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"},
	{"Connection: close", "GET /1 HTTP/1.1\r\nHost: lb.test\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: lb.test\r\n\r\n"},
	{"body with a length", "POST /up HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 5\r\n\r\nhello"},
	{"chunked body", "POST /up HTTP/1.1\r\nHost: lb.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"expect 100-continue", "POST /up HTTP/1.1\r\nHost: lb.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"},
	{"no Host", "GET / HTTP/1.1\r\n\r\n"},
	{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
	{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"},
	{"space before the colon", "GET / HTTP/1.1\r\nHost: lb.test\r\nContent-Length : 30\r\n\r\n"},
	{"space in a name", "GET / HTTP/1.1\r\nHost: lb.test\r\nX A: b\r\n\r\n"},
	{"NUL in a value", "GET / HTTP/1.1\r\nHost: lb.test\r\nX-A: a\x00b\r\n\r\n"},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: lb.test\r\nX-A: a\r\n b\r\n\r\n"},
	{"bare LF", "GET / HTTP/1.1\nHost: lb.test\n\n"},
	{"absolute form without Host", "GET http://lb.test/ HTTP/1.1\r\n\r\n"},
	{"absolute form with Host", "GET http://lb.test/x HTTP/1.1\r\nHost: lb.test\r\n\r\n"},
	{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: lb.test\r\n\r\n"},
	{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: lb.test\r\n\r\n"},
	{"bad version", "GET / HTTP/x\r\nHost: lb.test\r\n\r\n"},
	{"bad method", "G(T / HTTP/1.1\r\nHost: lb.test\r\n\r\n"},
	{"unknown Expect", "GET / HTTP/1.1\r\nHost: lb.test\r\nExpect: foo\r\n\r\n"},
	{"two lengths", "POST / HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
	{"length and chunked", "POST / HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	{"head too large", "GET / HTTP/1.1\r\nHost: lb.test\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n"},
}

// echo answers with what it got, with its length and type set, so that
// neither server has anything to add of its own.
func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	body := fmt.Sprintf("%s %s %s host=%q x-a=%q body=%q", r.Method, r.RequestURI, r.Proto, r.Host, r.Header.Values("X-A"), b)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	io.WriteString(w, body)
}

// TestServerAsNetHTTP sends the same raw requests to a Server and to an
// http.Server with the same handler and limits, and requires the same
// answers: status lines, headers but Date, bodies of the handler's
// answers, and the connection closed after the same answer. The reasons
// and bodies of the servers' own refusals say why in their own words.
func TestServerAsNetHTTP(t *testing.T) {
	const maxHead = 8 << 10
	ref := &http.Server{Handler: http.HandlerFunc(echo), MaxHeaderBytes: maxHead - 4096, ReadHeaderTimeout: 5 * time.Second}
	refAddr := serveOn(t, ref.Serve, func() { ref.Close() })
	srv := NewServer(func(ctx context.Context, w http.ResponseWriter, r *http.Request) { echo(w, r.WithContext(ctx)) },
		ServerConfig{Logger: slog.New(slog.DiscardHandler), BaseContext: context.Background(),
			ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second, MaxHeaderBytes: maxHead})
	addr := serveOn(t, srv.Serve, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Wait()
	})
	for _, c := range serverCases {
		want := exchangeRaw(t, refAddr, c.raw)
		got := exchangeRaw(t, addr, c.raw)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got\n%s\nwant, as from http.Server:\n%s", c.name, strings.Join(got, "\n--\n"), strings.Join(want, "\n--\n"))
		}
	}
}

func serveOn(t *testing.T, serve func(net.Listener) error, stop func()) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(l)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	return l.Addr().String()
}

// exchangeRaw sends raw on a new connection, half-closes it, and returns
// the answers read until the server closes it, each as its status line,
// sorted headers but Date, and body (for 2xx answers), then "closed" or
// "unreadable: ..." for what followed the last.
func exchangeRaw(t *testing.T, addr, raw string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, raw)
	c.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(c)
	var out []string
	for {
		if _, err := br.Peek(1); err != nil {
			return append(out, "closed")
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return append(out, "unreadable: "+err.Error())
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		var b strings.Builder
		if resp.StatusCode < 300 {
			fmt.Fprintf(&b, "%s %s\n", resp.Proto, resp.Status)
		} else {
			fmt.Fprintf(&b, "%s %d\n", resp.Proto, resp.StatusCode)
		}
		var keys []string
		for k := range resp.Header {
			if k != "Date" && (resp.StatusCode < 300 || k != "Content-Length") {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(resp.Header[k], ", "))
		}
		if resp.StatusCode < 300 {
			fmt.Fprintf(&b, "\n%s", body)
		}
		if err != nil {
			fmt.Fprintf(&b, "\nbody error: %v", err)
		}
		out = append(out, b.String())
	}
}

// TestHijackRefusedInHold: a connection whose read side serveHeld holds
// cannot be hijacked: the new owner's reads would wait for the hold, which
// waits for the handler, which waits for the new owner.
func TestHijackRefusedInHold(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := &conn{nc: server, inHold: true}
	c.resp.conn = c
	if _, _, err := c.resp.Hijack(); err == nil {
		t.Fatal("Hijack in a hold succeeded")
	}
	c.inHold = false
	if conn, _, err := c.resp.Hijack(); err != nil || conn != server {
		t.Fatalf("Hijack outside a hold: %v, %v", conn, err)
	}
}
