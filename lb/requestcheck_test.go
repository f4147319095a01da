package lb

import (
	"bufio"
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
		rt := newLenientTarget(t, answerPath)
		r := serveLenient(t, engine, rt)
		addr := strings.TrimPrefix(r.url, "http://")
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
		rt := newLenientTarget(t, func(w *bufio.Writer, req *http.Request) bool {
			w.WriteString("HTTP/1.1 200 OK\r\nX A: b\r\nX-B: c\r\nContent-Length: 2\r\n\r\nok")
			return true
		})
		r := serveLenient(t, engine, rt)
		got := exchangeRaw(t, strings.TrimPrefix(r.url, "http://"), "GET / HTTP/1.1\r\nHost: lb\r\n\r\n", "GET")
		if len(got) != 1 || got[0].status != http.StatusOK {
			t.Fatalf("got %v, want 200", got)
		}
		if _, ok := got[0].header["X A"]; ok || got[0].header.Get("X-B") != "c" {
			t.Errorf("got header %v, want X-B and no X A", got[0].header)
		}
	})
}
