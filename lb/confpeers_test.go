package lb

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The peers of the conformance suite (conformance_test.go): a raw target
// that parses what reaches it with net/http and answers with bytes a case
// chooses, well-formed or not; a raw client that writes bytes and reads
// whatever comes back; and the reference proxy, net/http's server with
// httputil.ReverseProxy, in front of the same kind of target.

// tagHeader is the header by which a target says which request an answer is
// for: the path of the request it parsed.
const tagHeader = "X-Conf-Tag"

// confAnswer writes the raw answer to req, tagged tag, and reports whether
// the connection stays open. It may write anything: a misbehaving target.
type confAnswer func(w *bufio.Writer, req *http.Request, tag string) (keep bool)

// answerOK is a well-behaved answer: 200 with the tag as header and body.
func answerOK(w *bufio.Writer, req *http.Request, tag string) bool {
	writeAnswer(w, "200 OK", tag, tag, "")
	return true
}

// writeAnswer writes a response with Content-Length and the tag; extra is
// more header lines, each ending in CRLF.
func writeAnswer(w *bufio.Writer, status, tag, body, extra string) {
	w.WriteString("HTTP/1.1 " + status + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n" + tagHeader + ": " + tag + "\r\n" + extra + "\r\n" + body)
}

// confTarget is a raw HTTP/1.1 target on a loopback port. Health checks
// (GET /healthz) get 200 and are not recorded.
type confTarget struct {
	ln     net.Listener
	url    *url.URL
	answer confAnswer

	mu     sync.Mutex // protects parsed and conns
	parsed []string   // the tags of the requests parsed, in order
	conns  map[net.Conn]bool
}

func newConfTarget(t testing.TB, answer confAnswer) *confTarget {
	t.Helper()
	if answer == nil {
		answer = answerOK
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ct := &confTarget{ln: ln, answer: answer, conns: map[net.Conn]bool{}}
	ct.url = &url.URL{Scheme: "http", Host: ln.Addr().String()}
	go ct.accept()
	t.Cleanup(ct.close)
	return ct
}

func (ct *confTarget) accept() {
	for {
		c, err := ct.ln.Accept()
		if err != nil {
			return
		}
		ct.mu.Lock()
		ct.conns[c] = true
		ct.mu.Unlock()
		go ct.serveConn(c)
	}
}

func (ct *confTarget) serveConn(c net.Conn) {
	defer func() {
		c.Close()
		ct.mu.Lock()
		delete(ct.conns, c)
		ct.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20)); err != nil {
			return
		}
		if req.URL.Path == DefaultHealthPath {
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			if bw.Flush() != nil {
				return
			}
			continue
		}
		tag := req.URL.Path
		if !strings.HasPrefix(tag, "/") {
			tag = "/" + tag // "*": a proxy may forward it as "*" or "/*"
		}
		ct.mu.Lock()
		ct.parsed = append(ct.parsed, tag)
		ct.mu.Unlock()
		keep := ct.answer(bw, req, tag)
		if bw.Flush() != nil || !keep {
			return
		}
	}
}

// take returns the tags parsed since the last call, and forgets them.
func (ct *confTarget) take() []string {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	p := ct.parsed
	ct.parsed = nil
	return p
}

// takeSettled is take once no request has reached the target for a moment:
// after a client gave up, a proxy may still be forwarding what it read.
func (ct *confTarget) takeSettled() []string {
	var all []string
	for quiet := 0; quiet < 2; {
		time.Sleep(5 * time.Millisecond)
		if p := ct.take(); len(p) > 0 {
			all = append(all, p...)
			quiet = 0
		} else {
			quiet++
		}
	}
	return all
}

func (ct *confTarget) close() {
	ct.ln.Close()
	ct.mu.Lock()
	defer ct.mu.Unlock()
	for c := range ct.conns {
		c.Close()
	}
}

// confResponse is what a client read: a status, the tag of the target's
// answer ("" for the proxy's own answer), and the body.
type confResponse struct {
	status int
	tag    string
	body   string
}

// confExchangeTimeout bounds one client connection of a case: a proxy that
// neither answers nor closes ends the read there. It is not an assertion;
// it only keeps a hang from stopping the suite.
const confExchangeTimeout = 3 * time.Second

// confExchange writes wire to addr on a new connection and reads responses
// until the connection ends, max final responses arrived, or the time-out.
// methods[i] is the method of the i-th request, for reading a HEAD answer.
// 1xx responses are read and dropped.
func confExchange(addr, wire string, methods []string, max int) ([]confResponse, error) {
	return confExchangeWithin(addr, wire, methods, max, confExchangeTimeout)
}

// confExchangeWithin is confExchange with its own time-out.
func confExchangeWithin(addr, wire string, methods []string, max int, timeout time.Duration) ([]confResponse, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	// Written while the answers are read: a proxy may answer (and close)
	// before it has read everything, as net/http does with a head too
	// large. A failed write is part of what is being tested, not an error.
	go io.WriteString(c, wire)
	var out []confResponse
	br := bufio.NewReader(c)
	for len(out) < max {
		method := http.MethodGet
		if len(out) < len(methods) {
			method = methods[len(out)]
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isTimeout(err) || strings.Contains(err.Error(), "connection reset") {
				return out, nil
			}
			return out, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		out = append(out, confResponse{status: resp.StatusCode, tag: resp.Header.Get(tagHeader), body: string(body)})
		if resp.StatusCode == http.StatusSwitchingProtocols || resp.Close {
			return out, nil
		}
	}
	return out, nil
}

// startReference serves ReverseProxy to target on net/http's server, the
// reference for every HTTP behaviour of the balancer, and returns its
// address.
func startReference(t testing.TB, target *url.URL) string {
	t.Helper()
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport: tr,
		ErrorLog:  discardLog(),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: readHeaderTimeout, ErrorLog: discardLog()}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return ln.Addr().String()
}

// startEngine serves a Balancer with the one target on engine and returns
// its proxy address.
func startEngine(t testing.TB, engine string, target *url.URL) string {
	t.Helper()
	cfg := Config{
		Targets:        []Target{{Name: "raw", URL: target}},
		HealthInterval: time.Minute,
		HealthTimeout:  time.Second,
		// The suite is not about graceful shutdown (drain_test.go and
		// the front end's tests are): a short one keeps FuzzConformance's
		// inputs, which each start and stop three proxies, quick.
		ShutdownTimeout: 10 * time.Millisecond,
	}
	cfg.Engine = engine
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}
