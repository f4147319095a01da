package lb

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestInvalidHeaderRefused: a request head that http.Server refuses after
// parsing gets 400 on both engines, and the target never sees it. A
// lenient target would take "Content-Length : 30" or "Transfer-Encoding :
// chunked" for framing and read the next client's request as a body.
func TestInvalidHeaderRefused(t *testing.T) {
	cases := []struct {
		name, head string
	}{
		{"space before colon in Content-Length", "GET /a HTTP/1.1\r\nHost: lb\r\nContent-Length : 30\r\n\r\n"},
		{"space before colon in Transfer-Encoding", "GET /a HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding : chunked\r\n\r\n"},
		{"space inside a name", "GET /a HTTP/1.1\r\nHost: lb\r\nX A: b\r\n\r\n"},
		{"separator in a name", "GET /a HTTP/1.1\r\nHost: lb\r\nX(A): b\r\n\r\n"},
		{"control byte in a value", "GET /a HTTP/1.1\r\nHost: lb\r\nX-A: b\x01c\r\n\r\n"},
		{"malformed Host", "GET /a HTTP/1.1\r\nHost: lb<x>\r\n\r\n"},
		{"two Hosts", "GET /a HTTP/1.1\r\nHost: lb\r\nHost: other\r\n\r\n"},
		{"absolute form without Host", "GET http://lb/a HTTP/1.1\r\n\r\n"},
	}
	// What http.Server takes, for contrast.
	valid := []struct {
		name, head string
	}{
		{"absolute form with Host", "GET http://lb/a HTTP/1.1\r\nHost: lb\r\n\r\n"},
		{"absolute form with an empty Host", "GET http://lb/a HTTP/1.1\r\nHost:\r\n\r\n"},
		{"token separators in a name", "GET /a HTTP/1.1\r\nHost: lb\r\nX-A.b_c!: d\r\n\r\n"},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		rt, addr := serveLenient(t, engine, answerPath)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// The pipelined second request shows that the connection
				// is not read on as if the first had a body.
				got := exchangeRaw(t, addr, tc.head+"GET /b HTTP/1.1\r\nHost: lb\r\n\r\n", "GET", "GET")
				if len(got) == 0 || got[0].status != http.StatusBadRequest {
					t.Errorf("got %v, want 400 first", got)
				}
				for _, resp := range got[1:] {
					if resp.status != http.StatusBadRequest {
						t.Errorf("got %v, want only 400s: the connection closes after a bad request", got)
					}
				}
			})
		}
		if seen := rt.seen(); len(seen) != 0 {
			t.Errorf("the target read %q, want nothing", seen)
		}
		for _, tc := range valid {
			t.Run(tc.name, func(t *testing.T) {
				got := exchangeRaw(t, addr, tc.head, "GET")
				if len(got) != 1 || got[0].status != http.StatusOK || got[0].body != "/a" {
					t.Errorf("got %v, want [200 \"/a\"]", got)
				}
			})
		}
	})
}

// TestInvalidResponseHeaderDropped: a field of the target's response whose
// name is not a token is not passed on to the client, on both engines, as
// net/http's server leaves it out.
func TestInvalidResponseHeaderDropped(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, addr := serveLenient(t, engine, func(w *bufio.Writer, req *http.Request) bool {
			w.WriteString("HTTP/1.1 200 OK\r\nX A: b\r\nX-B: c\r\nContent-Length: 2\r\n\r\nok")
			return true
		})
		got := exchangeRaw(t, addr, "GET / HTTP/1.1\r\nHost: lb\r\n\r\n", "GET")
		if len(got) != 1 || got[0].status != http.StatusOK {
			t.Fatalf("got %v, want 200", got)
		}
		if _, ok := got[0].header["X A"]; ok || got[0].header.Get("X-B") != "c" {
			t.Errorf("got header %v, want X-B and no X A", got[0].header)
		}
	})
}

// TestHTTP2PrefaceRefused: the HTTP/2 connection preface gets 505 on both
// engines and never reaches the target, which speaks HTTP/1.1.
func TestHTTP2PrefaceRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		rt, addr := serveLenient(t, engine, answerPath)
		got := exchangeRaw(t, addr, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "PRI")
		if len(got) != 1 || got[0].status != http.StatusHTTPVersionNotSupported {
			t.Errorf("got %v, want 505", got)
		}
		if seen := rt.seen(); len(seen) != 0 {
			t.Errorf("the target read %q, want nothing", seen)
		}
	})
}

// TestHeadLimits: ALB's limits on a request head on both engines. A request
// line or a header line over 16 KiB gets ALB's 400 from the balancer; a
// whole head over 64 KiB gets 431 from the engine's server, which refuses
// it before any handler runs (requestcheck.go). At the limits, 200.
func TestHeadLimits(t *testing.T) {
	requestLine := func(n int) string {
		return "GET /" + strings.Repeat("a", n-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: lb\r\n\r\n"
	}
	headerLine := func(n int) string {
		return "GET / HTTP/1.1\r\nHost: lb\r\nX-Long: " + strings.Repeat("b", n-len("X-Long: ")) + "\r\n\r\n"
	}
	wholeHead := func(n int) string {
		head := "GET / HTTP/1.1\r\nHost: lb\r\n"
		left := n - len(head) - len("\r\n")
		for i := 0; left > 0; i++ {
			line := min(left, 16000)
			if rest := left - line; rest > 0 && rest < 100 {
				line -= 100 // no line too short for its name
			}
			name := fmt.Sprintf("X-Fill-%02d: ", i)
			head += name + strings.Repeat("c", line-len(name)-2) + "\r\n"
			left -= line
		}
		return head + "\r\n"
	}
	cases := []struct {
		name string
		head string
		want int
	}{
		{"request line at 16 KiB", requestLine(maxRequestLine), http.StatusOK},
		{"request line over 16 KiB", requestLine(maxRequestLine + 1), http.StatusBadRequest},
		{"header line at 16 KiB", headerLine(maxHeaderLine), http.StatusOK},
		{"header line over 16 KiB", headerLine(maxHeaderLine + 1), http.StatusBadRequest},
		{"whole head at 64 KiB", wholeHead(maxHeaderBytes), http.StatusOK},
		{"whole head over 64 KiB", wholeHead(maxHeaderBytes + 1), http.StatusRequestHeaderFieldsTooLarge},
	}
	// The heads are as long as their cases say.
	for n, head := range map[int]string{maxHeaderBytes: wholeHead(maxHeaderBytes), maxHeaderBytes + 1: wholeHead(maxHeaderBytes + 1)} {
		if len(head) != n {
			t.Fatalf("whole head of %d bytes: got %d", n, len(head))
		}
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		_, addr := serveLenient(t, engine, answerPath)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := exchangeRaw(t, addr, tc.head, "GET")
				if len(got) != 1 || got[0].status != tc.want {
					t.Errorf("got %v, want %d", got, tc.want)
				}
			})
		}
	})
}
