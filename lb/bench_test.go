package lb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmark measures the balancer, not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Flush()                      {}

// BenchmarkProxy measures one proxied GET per stickiness mode, for a client
// that is already sticky (the common case), through ServeHTTP to a target
// in a child process, so that the allocations reported are the balancer's
// alone.
func BenchmarkProxy(b *testing.B) {
	backend := startChild(b, "app-1", "127.0.0.1:0")
	for _, mode := range []string{StickyNone, StickyDuration, StickyApp} {
		b.Run(mode, func(b *testing.B) {
			lb, err := New(Config{Targets: []Target{{Name: "app-1", URL: backend.url}}, Sticky: mode, AppCookie: "sid", PassiveFailover: true})
			if err != nil {
				b.Fatal(err)
			}
			lb.pool.observe(lb.pool.all[0], true, "bench", 1, 1)
			// Get the client's cookies once, as a browser would.
			rec := httptest.NewRecorder()
			login := httptest.NewRequest("GET", "http://lb.test/login", nil)
			lb.ServeHTTP(rec, login)
			req := httptest.NewRequest("GET", "http://lb.test/", nil)
			for _, c := range rec.Result().Cookies() {
				req.AddCookie(c)
			}
			if mode != StickyNone && len(req.Cookies()) == 0 {
				b.Fatal("no cookies from the first response")
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				lb.ServeHTTP(w, req)
			}
			b.StopTimer()
			lb.closeTargetConns()
		})
	}
}

func BenchmarkCookieSeal(b *testing.B) {
	c, _ := newCookieCodec(nil)
	v := stickyValue{deadline: time.Now().UnixMilli(), client: 42, target: "app-1"}
	buf := make([]byte, 0, maxCookieValue)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.appendSeal(buf[:0], purposeDuration, v)
	}
}

func BenchmarkCookieOpen(b *testing.B) {
	c, _ := newCookieCodec(nil)
	value := string(c.appendSeal(nil, purposeDuration, stickyValue{deadline: time.Now().UnixMilli(), client: 42, target: "app-1"}))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.open(value, purposeDuration, func(b []byte) string { return "app-1" }); !ok {
			b.Fatal("does not open")
		}
	}
}

// BenchmarkSetDuration is the response side of duration stickiness: both
// Set-Cookie lines.
func BenchmarkSetDuration(b *testing.B) {
	c, _ := newCookieCodec(nil)
	cw := cookieWriter{codec: c}
	h := http.Header{}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		h["Set-Cookie"] = h["Set-Cookie"][:0]
		cw.setDuration(h, now, "app-1", 42, time.Hour, nil)
	}
}

// BenchmarkServe measures the whole proxy path as scripts/bench-lb.sh loads
// it, on each engine: the server reading a kept-alive client's request,
// the balancer, the exchange with a target in a child process, and the
// response written back.
// The clients are raw connections with a parser that does not allocate, so
// that allocs/op are the balancer's.
func BenchmarkServe(b *testing.B) {
	backend := startChild(b, "app-1", "127.0.0.1:0")
	for _, c := range []struct{ engine, mode string }{{EngineStd, StickyNone}, {EngineStd, StickyDuration}, {EngineFast, StickyNone}, {EngineFast, StickyDuration}} {
		engine, mode := c.engine, c.mode
		b.Run(engine+"/"+mode, func(b *testing.B) {
			lb, err := New(Config{Engine: engine, Targets: []Target{{Name: "app-1", URL: backend.url}}, Sticky: mode, PassiveFailover: true})
			if err != nil {
				b.Fatal(err)
			}
			lb.pool.observe(lb.pool.all[0], true, "bench", 1, 1)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- lb.Serve(ctx, l, nil) }()
			defer func() {
				cancel()
				<-done
			}()
			req := "GET / HTTP/1.1\r\nHost: lb.test\r\nUser-Agent: bench\r\nAccept: */*\r\n"
			if mode != StickyNone {
				rec := httptest.NewRecorder()
				lb.ServeHTTP(rec, httptest.NewRequest("GET", "http://lb.test/", nil))
				var pairs []string
				for _, c := range rec.Result().Cookies() {
					pairs = append(pairs, c.Name+"="+c.Value)
				}
				req += "Cookie: " + strings.Join(pairs, "; ") + "\r\n"
			}
			req += "\r\n"
			raw := []byte(req) // io.WriteString would allocate: the client's, counted as the balancer's
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for pb.Next() {
					if _, err := c.Write(raw); err != nil {
						b.Error(err)
						return
					}
					if err := discardResponse(br); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// discardResponse reads one response with a Content-Length and checks its
// status, without allocating.
func discardResponse(br *bufio.Reader) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("response %q", line)
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			length = 0
			for _, d := range bytes.TrimSpace(v) {
				length = 10*length + int(d-'0')
			}
		}
	}
	if length < 0 {
		return errors.New("response without Content-Length")
	}
	_, err = br.Discard(length)
	return err
}
