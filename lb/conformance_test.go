package lb

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The conformance suite: raw bytes in, raw bytes out, for every engine of
// the balancer, compared with the reference (net/http's server with
// httputil.ReverseProxy in front of the same raw target). It checks three
// rules that a proxy in front of other people's applications must never
// break, whatever a client or a target sends:
//
//  1. No client receives an answer meant for another request: the i-th
//     response a client reads is the proxy's own or the target's answer to
//     that client's i-th request.
//  2. The target never parses a request the client did not send: no more
//     requests than the client meant, and only those paths, in order.
//  3. Nothing is accepted that the reference refuses: when the reference
//     answers a request itself (4xx, 5xx) without the target seeing it, the
//     engine does not forward it either.
//
// Where the reference forwards a request, an engine may still refuse it (ALB
// has stricter limits than net/http): rule 3 runs one way.

// discardLog is a *log.Logger for servers whose errors a test provokes.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// confReq is one request a client means to send: its method and path, and
// the raw bytes that send it (which may say something else to a lenient
// parser: that is the point).
type confReq struct {
	method, path string
	raw          string
}

// confGet is a plain request for path with extra header lines (each ending in
// CRLF).
func confGet(path, extra string) confReq {
	return confReq{http.MethodGet, path, "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n"}
}

// confRaw is a request written out in full, meant as method and path.
func confRaw(method, path, wire string) confReq { return confReq{method, path, wire} }

// confLast marks r as the client's last request on its connection.
func confLast(r confReq) confReq {
	r.raw = strings.Replace(r.raw, "\r\n", "\r\nConnection: close\r\n", 1)
	return r
}

// confCase is one conformance case: the clients, each on its own connection
// after the previous one has finished, and how the target answers.
type confCase struct {
	name    string
	clients [][]confReq
	target  confAnswer // nil: answerOK
}

func one(reqs ...confReq) [][]confReq { return [][]confReq{reqs} }

// confResult is what one run of a case saw: per client, the responses; and
// per client, what the target parsed while it was connected.
type confResult struct {
	responses [][]confResponse
	parsed    [][]string
	errs      []error
}

// runConf runs tc against the proxy at addr in front of target.
func runConf(tc confCase, addr string, target *confTarget) confResult {
	var res confResult
	for _, reqs := range tc.clients {
		var wire strings.Builder
		var methods []string
		for _, r := range reqs {
			wire.WriteString(r.raw)
			methods = append(methods, r.method)
		}
		resps, err := confExchange(addr, wire.String(), methods, len(reqs)+2)
		res.responses = append(res.responses, resps)
		res.errs = append(res.errs, err)
		res.parsed = append(res.parsed, target.take())
	}
	return res
}

// checkRules checks the three rules on got, and rule 3 against ref.
func checkRules(t *testing.T, tc confCase, ref, got confResult) {
	t.Helper()
	for i, reqs := range tc.clients {
		var paths []string
		for _, r := range reqs {
			paths = append(paths, r.path)
		}
		// Rule 1.
		for j, resp := range got.responses[i] {
			if resp.tag == "" {
				continue
			}
			if j >= len(paths) || resp.tag != paths[j] {
				t.Errorf("client %d, response %d: got the answer to %q, want the answer to %q or the proxy's own; responses %+v", i, j, resp.tag, at(paths, j), got.responses[i])
			}
		}
		// Rule 2.
		if p := got.parsed[i]; len(p) > len(paths) || !slices.Equal(p, paths[:len(p)]) {
			t.Errorf("client %d: the target parsed %q, want at most %q, in order", i, p, paths)
		}
		// Rule 3.
		if len(ref.parsed[i]) == 0 && len(ref.responses[i]) > 0 && ref.responses[i][0].status >= 400 && len(got.parsed[i]) > 0 {
			t.Errorf("client %d: the reference refused with %d and forwarded nothing, but the target parsed %q; responses %+v", i, ref.responses[i][0].status, got.parsed[i], got.responses[i])
		}
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(no request)"
}

// statuses is the status codes of a result, for failure messages.
func (r confResult) statuses() string {
	var b strings.Builder
	for i, resps := range r.responses {
		fmt.Fprintf(&b, "client %d:", i)
		for _, resp := range resps {
			fmt.Fprintf(&b, " %d", resp.status)
			if resp.tag != "" {
				fmt.Fprintf(&b, "(%s)", resp.tag)
			}
		}
		fmt.Fprintf(&b, " target %q; ", r.parsed[i])
	}
	return b.String()
}

// TestConformance runs every case on the reference and on every engine.
func TestConformance(t *testing.T) {
	for _, tc := range conformanceCases() {
		t.Run(tc.name, func(t *testing.T) {
			refTarget := newConfTarget(t, tc.target)
			ref := runConf(tc, startReference(t, refTarget.url), refTarget)
			for _, engine := range engines {
				t.Run(engine, func(t *testing.T) {
					target := newConfTarget(t, tc.target)
					got := runConf(tc, startEngine(t, engine, target.url), target)
					for i, err := range got.errs {
						if err != nil {
							t.Errorf("client %d: %v", i, err)
						}
					}
					checkRules(t, tc, ref, got)
					if t.Failed() {
						t.Logf("reference: %s", ref.statuses())
						t.Logf("%s: %s", engine, got.statuses())
					}
				})
			}
		})
	}
}

// conformanceCases are the request smuggling and desync classes, and the
// misbehaving targets.
func conformanceCases() []confCase {
	post := func(path, headers, body string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: t\r\n" + headers + "\r\n" + body
	}
	cases := []confCase{
		{name: "plain", clients: one(confLast(confGet("/c0", "")))},
		{name: "pipelined", clients: one(confGet("/c0", ""), confGet("/c1", ""), confLast(confGet("/c2", "")))},
		{name: "HTTP/1.0", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.0\r\nHost: t\r\n\r\n"))},
		{name: "HTTP/1.0 keep-alive", clients: one(
			confRaw("GET", "/c0", "GET /c0 HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n"),
			confRaw("GET", "/c1", "GET /c1 HTTP/1.0\r\nHost: t\r\n\r\n"))},
		{name: "HTTP/0.9", clients: one(confRaw("GET", "/c0", "GET /c0\r\n\r\n"))},
		{name: "HTTP/1.2", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.2\r\nHost: t\r\n\r\n"))},
		{name: "HTTP/2.0 line", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/2.0\r\nHost: t\r\n\r\n"))},
		{name: "bad version", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.x\r\nHost: t\r\n\r\n"))},
		{name: "bad method", clients: one(confRaw("G(T", "/c0", "G(T /c0 HTTP/1.1\r\nHost: t\r\n\r\n"))},
		{name: "no host", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\n\r\n"))},
		{name: "two hosts", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"))},
		{name: "bad host", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: a b\r\n\r\n"))},
		{name: "absolute form", clients: one(confRaw("GET", "/c0", "GET http://t/c0 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))},
		{name: "absolute form, no host", clients: one(confRaw("GET", "/c0", "GET http://t/c0 HTTP/1.1\r\nConnection: close\r\n\r\n"))},
		{name: "absolute form, other host", clients: one(confRaw("GET", "/c0", "GET http://t/c0 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"))},
		{name: "space before colon: Content-Length", clients: one(
			confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: t\r\nContent-Length : 30\r\n\r\n"),
			confLast(confGet("/c1", "")))},
		{name: "space before colon: Transfer-Encoding", clients: one(
			confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n"),
			confLast(confGet("/c1", "")))},
		{name: "space in name", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: t\r\nX A: b\r\n\r\n"), confLast(confGet("/c1", "")))},
		{name: "NUL in value", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n"))},
		{name: "control byte in value", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: t\r\nX-A: a\x01b\r\n\r\n"))},
		{name: "bare LF line endings", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\nHost: t\nConnection: close\n\n"))},
		{name: "bare CR in header", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: t\r\nX-A: a\rContent-Length: 5\r\n\r\n"))},
		{name: "obs-fold", clients: one(confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n"), confLast(confGet("/c1", "")))},
		{name: "CL.TE", clients: one(
			confRaw("POST", "/c0", post("/c0", "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nG")),
			confLast(confGet("/c1", "")))},
		{name: "TE.CL", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", "8\r\nSMUGGLED\r\n0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "TE obfuscated: xchunked", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n", "0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "TE obfuscated: tab", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding:\tchunked\r\n", "0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "TE: chunked, identity", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "TE: identity, chunked", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: identity, chunked\r\n", "0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "TE twice", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "TE on HTTP/1.0", clients: one(
			confRaw("POST", "/c0", "POST /c0 HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))},
		{name: "CL twice, different", clients: one(
			confRaw("POST", "/c0", post("/c0", "Content-Length: 5\r\nContent-Length: 6\r\n", "hello!")),
			confLast(confGet("/c1", "")))},
		{name: "CL twice, same", clients: one(
			confRaw("POST", "/c0", post("/c0", "Content-Length: 5\r\nContent-Length: 5\r\n", "hello")),
			confLast(confGet("/c1", "")))},
		{name: "CL list", clients: one(confRaw("POST", "/c0", post("/c0", "Content-Length: 5, 5\r\n", "hello")), confLast(confGet("/c1", "")))},
		{name: "CL plus sign", clients: one(confRaw("POST", "/c0", post("/c0", "Content-Length: +5\r\n", "hello")), confLast(confGet("/c1", "")))},
		{name: "CL negative", clients: one(confRaw("POST", "/c0", post("/c0", "Content-Length: -1\r\n", "")), confLast(confGet("/c1", "")))},
		{name: "CL hex", clients: one(confRaw("POST", "/c0", post("/c0", "Content-Length: 0x5\r\n", "hello")), confLast(confGet("/c1", "")))},
		{name: "CL huge", clients: one(confRaw("POST", "/c0", post("/c0", "Content-Length: 99999999999999999999\r\n", "")))},
		{name: "chunk size overflow", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: chunked\r\n", "ffffffffffffffffff1\r\nx\r\n0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "chunk extension", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: chunked\r\n", "5;ext=1\r\nhello\r\n0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "chunk bare LF", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: chunked\r\n", "5\nhello\n0\n\n")),
			confLast(confGet("/c1", "")))},
		{name: "body on GET", clients: one(
			confRaw("GET", "/c0", "GET /c0 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"),
			confLast(confGet("/c1", "")))},
		{name: "body smuggles a request", clients: one(
			confRaw("POST", "/c0", post("/c0", "Content-Length: 35\r\n", "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "expect 100-continue", clients: one(
			confLast(confRaw("POST", "/c0", post("/c0", "Content-Length: 5\r\nExpect: 100-continue\r\n", "hello"))))},
		{name: "expect other", clients: one(
			confLast(confRaw("POST", "/c0", post("/c0", "Content-Length: 5\r\nExpect: 200-ok\r\n", "hello"))))},
		{name: "Connection names Content-Length", clients: one(
			confRaw("POST", "/c0", post("/c0", "Content-Length: 5\r\nConnection: Content-Length\r\n", "hello")),
			confLast(confGet("/c1", "")))},
		{name: "Connection names Transfer-Encoding", clients: one(
			confRaw("POST", "/c0", post("/c0", "Transfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n", "0\r\n\r\n")),
			confLast(confGet("/c1", "")))},
		{name: "Connection names Host", clients: one(confGet("/c0", "Connection: Host\r\n"), confLast(confGet("/c1", "")))},
		{name: "h2c upgrade", clients: one(
			confGet("/c0", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"),
			confLast(confGet("/c1", "")))},
		{name: "h2 preface", clients: one(confRaw("PRI", "/*", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))},
		{name: "websocket upgrade refused by target", clients: one(
			confGet("/c0", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"),
			confLast(confGet("/c1", "")))},
		{name: "many headers", clients: one(confLast(confGet("/c0", strings.Repeat("X-A: b\r\n", 10000))))},
		{name: "long header line", clients: one(confLast(confGet("/c0", "X-A: "+strings.Repeat("b", 2<<20)+"\r\n")))},
		{name: "long request line", clients: one(confLast(confGet("/c0?"+strings.Repeat("q", 2<<20), "")))},
	}
	return append(cases, misbehavingTargets()...)
}

// onFirst is a target that answers the request for /c0 with the raw bytes
// answer, keeping the connection open or not, and every other one well.
func onFirst(answer string, keep bool) confAnswer {
	return func(w *bufio.Writer, req *http.Request, tag string) bool {
		if tag == "/c0" {
			w.WriteString(answer)
			return keep
		}
		return answerOK(w, req, tag)
	}
}

// misbehavingTargets are cases whose target breaks HTTP/1.1. Each has a
// second client after the first, so that a target connection left with
// stray bytes and reused would hand them to someone else.
func misbehavingTargets() []confCase {
	twoClients := func(first ...confReq) [][]confReq {
		return [][]confReq{first, {confLast(confGet("/d0", ""))}}
	}
	smuggled := "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n" + tagHeader + ": /smuggled\r\n\r\nsmuggled"
	return []confCase{
		{name: "target sends more than announced", clients: twoClients(confGet("/c0", ""), confLast(confGet("/c1", ""))),
			target: func(w *bufio.Writer, req *http.Request, tag string) bool {
				writeAnswer(w, "200 OK", tag, tag, "")
				if tag == "/c0" {
					w.WriteString(smuggled)
				}
				return true
			}},
		{name: "target answers HEAD with a body", clients: twoClients(confRaw("HEAD", "/c0", "HEAD /c0 HTTP/1.1\r\nHost: t\r\n\r\n"), confLast(confGet("/c1", ""))),
			target: func(w *bufio.Writer, req *http.Request, tag string) bool {
				writeAnswer(w, "200 OK", tag, tag, "")
				if req.Method == http.MethodHead {
					w.WriteString(tag)
				}
				return true
			}},
		{name: "target sends a body with 204", clients: twoClients(confGet("/c0", ""), confLast(confGet("/c1", ""))),
			target: onFirst("HTTP/1.1 204 No Content\r\n"+tagHeader+": /c0\r\n\r\n"+smuggled, true)},
		{name: "target sends a body with 304", clients: twoClients(confGet("/c0", ""), confLast(confGet("/c1", ""))),
			target: onFirst("HTTP/1.1 304 Not Modified\r\n"+tagHeader+": /c0\r\n\r\n"+smuggled, true)},
		{name: "target sends two answers to one request", clients: twoClients(confGet("/c0", ""), confLast(confGet("/c1", ""))),
			target: func(w *bufio.Writer, req *http.Request, tag string) bool {
				answerOK(w, req, tag)
				w.WriteString(smuggled)
				return true
			}},
		{name: "target closes without answering", clients: twoClients(confLast(confGet("/c0", ""))),
			target: func(w *bufio.Writer, req *http.Request, tag string) bool {
				return tag != "/c0" && answerOK(w, req, tag)
			}},
		{name: "target closes mid-body", clients: twoClients(confLast(confGet("/c0", ""))),
			target: onFirst("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"+tagHeader+": /c0\r\n\r\npartial", false)},
		{name: "target answers with bad framing", clients: twoClients(confLast(confGet("/c0", ""))),
			target: onFirst("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 30\r\n"+tagHeader+": /c0\r\n\r\nabc"+smuggled, true)},
		{name: "target answers with a huge head", clients: twoClients(confLast(confGet("/c0", ""))),
			target: func(w *bufio.Writer, req *http.Request, tag string) bool {
				if tag == "/c0" {
					writeAnswer(w, "200 OK", tag, tag, "X-Big: "+strings.Repeat("b", 2<<20)+"\r\n")
					return true
				}
				return answerOK(w, req, tag)
			}},
		{name: "target switches protocols unasked", clients: twoClients(confLast(confGet("/c0", ""))),
			target: onFirst("HTTP/1.1 101 Switching Protocols\r\n"+tagHeader+": /c0\r\n\r\n"+smuggled, true)},
		{name: "target sends a response line only", clients: twoClients(confLast(confGet("/c0", ""))),
			target: onFirst("HTTP/1.1 200 OK\r\n", false)},
		{name: "target sends garbage", clients: twoClients(confLast(confGet("/c0", ""))),
			target: onFirst("garbage\r\n\r\n"+smuggled, true)},
	}
}

// TestConformanceResources: idle connections, heads sent a byte at a time
// and bodies that stop coming (slowloris, slow bodies) hold connections,
// not the proxy: a client that behaves is still answered at once, on the
// reference and on every engine.
func TestConformanceResources(t *testing.T) {
	const idle, slowHeads, slowBodies = 500, 100, 50
	check := func(t *testing.T, addr string) {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		hold := func(n int, wire string) {
			for range n {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatalf("connection %d: %v", len(held), err)
				}
				held = append(held, c)
				if wire != "" {
					io.WriteString(c, wire)
				}
			}
		}
		hold(idle, "")
		hold(slowHeads, "GET /slow HTTP/1.1\r\nHost: t\r\nX-A: ")
		hold(slowBodies, "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nten bytes.")
		resps, err := confExchange(addr, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", nil, 1)
		if err != nil || len(resps) != 1 || resps[0].status != http.StatusOK || resps[0].tag != "/ok" {
			t.Errorf("with %d idle, %d slow-head and %d slow-body connections held: got %+v, %v; want the answer to /ok", idle, slowHeads, slowBodies, resps, err)
		}
	}
	t.Run("reference", func(t *testing.T) { check(t, startReference(t, newConfTarget(t, nil).url)) })
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { check(t, startEngine(t, engine, newConfTarget(t, nil).url)) })
	}
}
