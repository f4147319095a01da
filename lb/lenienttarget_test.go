package lb

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// targetAnswer writes a target's answer to req on w, well-formed or not; it
// reports whether the connection stays open for the next request.
type targetAnswer func(w *bufio.Writer, req *http.Request) (keep bool)

// lenientTarget is a target that reads requests as a lenient server would
// (http.ReadRequest, which keeps "Content-Length " apart from
// Content-Length) and answers them with a targetAnswer, so that a test can
// see what the balancer forwards and make the target misbehave.
type lenientTarget struct {
	url *url.URL

	mu    sync.Mutex // guards paths
	paths []string   // the paths of the requests read, health checks aside
}

// newLenientTarget starts a lenientTarget on a loopback port; the test's cleanup
// stops it. Health checks get 200 whatever answer does.
func newLenientTarget(t *testing.T, answer targetAnswer) *lenientTarget {
	t.Helper()
	l := listen(t)
	rt := &lenientTarget{url: &url.URL{Scheme: "http", Host: l.Addr().String()}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				rt.serveConn(c, answer)
			})
		}
	})
	return rt
}

func (rt *lenientTarget) serveConn(c net.Conn, answer targetAnswer) {
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		keep := true
		if req.URL.Path == DefaultHealthPath {
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		} else {
			rt.mu.Lock()
			rt.paths = append(rt.paths, req.URL.Path)
			rt.mu.Unlock()
			keep = answer(bw, req)
		}
		if bw.Flush() != nil || !keep {
			return
		}
	}
}

// seen returns the paths of the requests the target has read.
func (rt *lenientTarget) seen() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.paths...)
}

// answerPath answers 200 with the request's path as the body.
func answerPath(w *bufio.Writer, req *http.Request) bool {
	writeRaw(w, "200 OK", req.URL.Path)
	return true
}

// writeRaw writes a response with status and body, framed by
// Content-Length.
func writeRaw(w *bufio.Writer, status, body string) {
	w.WriteString("HTTP/1.1 " + status + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// rawResponse is what a client read: the status, the body as text and the
// header.
type rawResponse struct {
	status int
	body   string
	header http.Header
}

func (r rawResponse) String() string { return strconv.Itoa(r.status) + " " + strconv.Quote(r.body) }

// exchangeRaw sends wire, one or more requests, on a new connection to
// addr (host:port) and reads the answers to the requests with methods, in
// order, until the connection ends.
func exchangeRaw(t *testing.T, addr, wire string, methods ...string) []rawResponse {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A bound on a test gone wrong, not a timed assertion: the answers
	// come at once or the connection ends.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, wire); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []rawResponse
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("reading answer %d: %v", len(out)+1, err)
			}
			break
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Errorf("reading the body of answer %d: %v", len(out)+1, err)
			break
		}
		out = append(out, rawResponse{resp.StatusCode, string(body), resp.Header})
	}
	return out
}

// serveLenient starts a lenientTarget with answer and a balancer on engine
// in front of it alone, with health checks that leave the test's requests
// alone; it returns the target and the balancer's host:port.
func serveLenient(t *testing.T, engine string, answer targetAnswer) (*lenientTarget, string) {
	t.Helper()
	rt := newLenientTarget(t, answer)
	r := serve(t, Config{Engine: engine, Targets: []Target{{Name: "raw", URL: rt.url}}, HealthInterval: time.Minute, HealthTimeout: time.Second})
	waitHealthy(t, r)
	return rt, strings.TrimPrefix(r.url, "http://")
}
