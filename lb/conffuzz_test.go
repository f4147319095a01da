package lb

import (
	"bufio"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzConformance drives whole connections through every engine: the fuzzer
// chooses the client's bytes (pipelined requests, malformed ones included)
// and how the target misbehaves. The oracle is net/http's parser: the
// requests http.ReadRequest finds in the client's bytes, one after the
// other, are the most a proxy may forward. Each input gets a fresh target
// and fresh proxies, and after the fuzzed client a second client asks for
// /probe on a new connection. The rules:
//
//   - the target parses a prefix of the fuzzed client's requests, in order,
//     never more;
//   - the i-th response the fuzzed client reads is the proxy's own or the
//     target's answer to the i-th of those requests;
//   - the probe gets the proxy's own answer or the answer to /probe: a
//     target connection left with stray bytes is never handed to another
//     client.
//
// The reference proxy must keep the first rule too, which checks the
// oracle. The three proxies of an input are checked at the same time. go
// test -fuzz FuzzConformance ./lb runs it; its seeds (the conformance cases,
// with every target behaviour) run with every go test.
func FuzzConformance(f *testing.F) {
	for _, tc := range conformanceCases() {
		if tc.target != nil {
			continue
		}
		var wire strings.Builder
		for _, r := range tc.clients[0] {
			wire.WriteString(r.raw)
		}
		for mode := range fuzzAnswers {
			f.Add([]byte(wire.String()), uint8(mode))
		}
	}
	f.Fuzz(func(t *testing.T, wire []byte, m uint8) {
		answer := fuzzAnswers[int(m)%len(fuzzAnswers)]
		want, methods := parseAll(wire)
		// check runs the input through the proxy start makes. Answers are
		// checked only when answers is set: the reference's are not, since
		// http.Transport alone can hand a stray answer to the next request
		// under a race (lb/stdconn.go), which is what the engines must not.
		check := func(name string, target *confTarget, addr string, answers bool) {
			resps, err := confExchangeWithin(addr, string(wire), methods, len(want)+1, 150*time.Millisecond)
			if err != nil {
				t.Errorf("%s: reading the answers: %v", name, err)
			}
			if !answers {
				resps = nil
			}
			for i, resp := range resps {
				if resp.tag != "" && (i >= len(want) || resp.tag != want[i]) {
					t.Errorf("%s: response %d is the answer to %q, want the answer to %q or the proxy's own", name, i, resp.tag, at(want, i))
				}
			}
			probe, err := confExchange(addr, "GET /probe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", nil, 1)
			if err != nil {
				t.Errorf("%s: the probe: %v", name, err)
			}
			for _, resp := range probe {
				if answers && resp.tag != "" && resp.tag != "/probe" {
					t.Errorf("%s: the probe got the answer to %q", name, resp.tag)
				}
			}
			// Both clients are done: what the target parsed is all there
			// is, but a proxy may still be forwarding what it read.
			// The probe's request is not the fuzzed client's: it may
			// arrive before the end of a slow one's (a head of many
			// lines, on a busy machine).
			parsed := target.takeSettled()
			for i := len(parsed) - 1; i >= 0; i-- {
				if parsed[i] == "/probe" {
					parsed = slices.Delete(parsed, i, i+1)
					break
				}
			}
			if len(parsed) > len(want) || !equalPrefix(parsed, want) {
				t.Errorf("%s: the target parsed %q, want a prefix of %q; client sent %q", name, parsed, want, wire)
			}
		}
		// The proxies start here (t.Fatal must be called on this
		// goroutine) and are checked at once: most of a check is waiting
		// for answers that do not come, and the three wait together.
		var wg sync.WaitGroup
		refTarget := newConfTarget(t, answer)
		refAddr := startReference(t, refTarget.url)
		wg.Go(func() { check("reference", refTarget, refAddr, false) })
		for _, engine := range engines {
			target := newConfTarget(t, answer)
			addr := startEngine(t, engine, target.url)
			wg.Go(func() { check(engine, target, addr, true) })
		}
		wg.Wait()
	})
}

// fuzzAnswers are the target behaviours the fuzzer chooses from.
var fuzzAnswers = []confAnswer{
	answerOK,
	func(w *bufio.Writer, req *http.Request, tag string) bool { // more than announced
		writeAnswer(w, "200 OK", tag, tag, "")
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n" + tagHeader + ": /smuggled\r\n\r\nx")
		return true
	},
	func(w *bufio.Writer, req *http.Request, tag string) bool { // a body on 204
		w.WriteString("HTTP/1.1 204 No Content\r\n" + tagHeader + ": " + tag + "\r\n\r\nbody")
		return true
	},
	func(w *bufio.Writer, req *http.Request, tag string) bool { // close without answering
		return false
	},
}

// parseAll returns the paths of the requests net/http's parser finds in
// wire, in order, and their methods; it stops at the first it refuses.
func parseAll(wire []byte) (paths, methods []string) {
	br := bufio.NewReader(strings.NewReader(string(wire)))
	for {
		// RFC 9112, 2.2: a server should ignore empty lines before a
		// request line, as net/http's server does.
		for {
			b, err := br.Peek(1)
			if err != nil || (b[0] != '\r' && b[0] != '\n') {
				break
			}
			br.ReadByte()
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return paths, methods
		}
		// ReverseProxy joins the path to the target's "/": "*" arrives as "/*".
		if !strings.HasPrefix(req.URL.Path, "/") {
			req.URL.Path = "/" + req.URL.Path
		}
		paths = append(paths, req.URL.Path)
		methods = append(methods, req.Method)
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return paths, methods
		}
	}
}

func equalPrefix(got, want []string) bool {
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
