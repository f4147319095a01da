package h1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// Requests that must take the fast path: what curl, browsers, wrk and the
// app's own pages send.
var fastRequests = []string{
	"GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
	"GET /api/session HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: AWSALB=abc; AWSALBCORS=abc; stickylab_session=xyz\r\n\r\n",
	"GET /cart?item=tea&n=2 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nAccept-Encoding: gzip, deflate, br\r\nSec-Fetch-Mode: navigate\r\n\r\n",
	"DELETE /api/cart/tea HTTP/1.1\r\nHost: h\r\nconnection: Close\r\nx-lower-case: v\r\n\r\n",
	"GET /a%20b/c%2Fd?q=%41 HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nX-Dup: 2\r\nX-Empty:\r\nX-Spaces: \t v \t\r\n\r\nNEXT",
	"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	// Request targets at the edges of plainOriginForm: what url.URL keeps
	// as sent, and what it escapes or unescapes (net/http's parser).
	"GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a?b?c HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a?? HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET //two/slashes HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /~u/a;b=c,d:e@f$g&h+i HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a!b HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a*b HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a(b)'c HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /%41%2f HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n",
}

// Requests that are net/http's to parse, to refuse or to frame.
var slowRequests = []string{
	"POST /login HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
	"POST /login HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: h\r\n\r\n",
	"GET http://example.test/ HTTP/1.1\r\nHost: h\r\n\r\n",
	"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\nHost: h\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
	"GET / HTTP/1.1\r\n: empty\r\n\r\n",
	"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
	"GET / HTTP/1.1\r\nX-Ctl: a\x01b\r\n\r\n",
	"GET / HTTP/1.1\r\nX-Utf8: caf\xc3\xa9\r\n\r\n",
	"GET / HTTP/1.1\r\nPragma: no-cache\r\n\r\n",
	"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
	"G@T / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\n",
	"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	"GET / HTTP/1.1\r\nTrailer: X\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}

func TestReadRequestFastTakesCommonRequests(t *testing.T) {
	for _, in := range fastRequests {
		br := bufio.NewReaderSize(strings.NewReader(in), 64<<10)
		br.Peek(1)
		if readRequestFast(br, bufferedHeadOrNil(br), nil) == nil {
			t.Errorf("not taken by the fast path: %q", in)
		}
	}
}

func TestReadRequestFastLeavesTheRest(t *testing.T) {
	for _, in := range slowRequests {
		br := bufio.NewReaderSize(strings.NewReader(in), 64<<10)
		br.Peek(1)
		if readRequestFast(br, bufferedHeadOrNil(br), nil) != nil {
			t.Errorf("taken by the fast path: %q", in)
		}
	}
}

// TestReadRequestFastAsNetHTTP parses the corpus with both parsers, the
// fast one reusing one header storage throughout, as a connection does:
// nothing of one head may show in the next.
func TestReadRequestFastAsNetHTTP(t *testing.T) {
	var sc headScratch
	for _, in := range append(fastRequests, slowRequests...) {
		checkRequestParse(t, in, &sc)
	}
}

func FuzzReadRequestFast(f *testing.F) {
	for _, in := range append(fastRequests, slowRequests...) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sc := usedScratch(t, fastRequests[0])
		checkRequestParse(t, in, sc)
	})
}

// usedScratch returns header storage that has held head's header.
func usedScratch(t *testing.T, head string) *headScratch {
	sc := new(headScratch)
	i := strings.Index(head, "\r\n")
	if _, ok := fastHeader(head[i+2:strings.Index(head, "\r\n\r\n")+4], sc); !ok {
		t.Fatalf("fastHeader refused %q", head)
	}
	return sc
}

// checkRequestParse parses in with both parsers, the fast one with sc's
// storage: when the fast one takes it, net/http must accept it too and
// agree on every field and on what is left unread; when it does not, it
// must have read nothing.
func checkRequestParse(t *testing.T, in string, sc *headScratch) {
	t.Helper()
	br := bufio.NewReaderSize(strings.NewReader(in), 64<<10)
	br.Peek(1)
	got := readRequestFast(br, bufferedHeadOrNil(br), sc)
	if got == nil {
		if rest, _ := io.ReadAll(br); string(rest) != in {
			t.Fatalf("fast path refused %q but consumed %d bytes", in, len(in)-len(rest))
		}
		return
	}
	wantBr := bufio.NewReaderSize(strings.NewReader(in), 64<<10)
	want, err := http.ReadRequest(wantBr)
	if err != nil {
		t.Fatalf("fast path took %q, which net/http refuses: %v", in, err)
	}
	if got.Method != want.Method || got.RequestURI != want.RequestURI || got.Proto != want.Proto ||
		got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor || got.Host != want.Host ||
		got.ContentLength != want.ContentLength || got.Close != want.Close ||
		len(got.TransferEncoding) != len(want.TransferEncoding) || got.Body != want.Body {
		t.Fatalf("%q:\nfast     %+v\nnet/http %+v", in, got, want)
	}
	if !reflect.DeepEqual(got.URL, want.URL) {
		t.Fatalf("%q: URL %#v, net/http %#v", in, got.URL, want.URL)
	}
	if !reflect.DeepEqual(got.Header, want.Header) {
		t.Fatalf("%q: header %#v, net/http %#v", in, got.Header, want.Header)
	}
	gotRest, _ := io.ReadAll(br)
	wantRest, _ := io.ReadAll(wantBr)
	if string(gotRest) != string(wantRest) {
		t.Fatalf("%q: left %q, net/http %q", in, gotRest, wantRest)
	}
}

var fastResponses = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nDate: Fri, 27 Nov 2026 05:00:00 GMT\r\n\r\nhelloNEXT",
	"HTTP/1.1 302 Found\r\nLocation: /\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; Path=/\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3\r\nx-instance: app-1\r\n\r\nabc",
	"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
}

var slowResponses = []string{
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
	"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
}

func TestReadResponseFastTakesCommonResponses(t *testing.T) {
	get := httpRequest(t, "GET")
	for _, in := range fastResponses {
		br := bufio.NewReaderSize(strings.NewReader(in), 64<<10)
		br.Peek(1)
		if readResponseFast(br, get, nil, nil) == nil {
			t.Errorf("not taken by the fast path: %q", in)
		}
	}
	br := bufio.NewReaderSize(strings.NewReader(fastResponses[0]), 64<<10)
	br.Peek(1)
	if readResponseFast(br, httpRequest(t, "HEAD"), nil, nil) != nil {
		t.Errorf("the answer to HEAD was taken by the fast path")
	}
}

func TestReadResponseFastLeavesTheRest(t *testing.T) {
	get := httpRequest(t, "GET")
	for _, in := range slowResponses {
		br := bufio.NewReaderSize(strings.NewReader(in), 64<<10)
		br.Peek(1)
		if readResponseFast(br, get, nil, nil) != nil {
			t.Errorf("taken by the fast path: %q", in)
		}
	}
}

// TestReadResponseFastAsNetHTTP is TestReadRequestFastAsNetHTTP for
// responses.
func TestReadResponseFastAsNetHTTP(t *testing.T) {
	var sc headScratch
	for _, in := range append(fastResponses, slowResponses...) {
		for _, m := range []string{"GET", "HEAD", "POST"} {
			checkResponseParse(t, in, m, &sc)
		}
	}
	// A body cut short is an unexpected EOF, as with net/http.
	checkResponseParse(t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "GET", &sc)
}

func FuzzReadResponseFast(f *testing.F) {
	for _, in := range append(fastResponses, slowResponses...) {
		f.Add(in, false)
	}
	f.Fuzz(func(t *testing.T, in string, head bool) {
		m := "GET"
		if head {
			m = "HEAD"
		}
		checkResponseParse(t, in, m, usedScratch(t, fastResponses[1]))
	})
}

func httpRequest(t testing.TB, method string) *http.Request {
	r, err := http.NewRequest(method, "http://lb.test/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkResponseParse is checkRequestParse for responses, bodies included.
func checkResponseParse(t *testing.T, in, method string, sc *headScratch) {
	t.Helper()
	req := httpRequest(t, method)
	br := bufio.NewReaderSize(strings.NewReader(in), 64<<10)
	br.Peek(1)
	got := readResponseFast(br, req, new(lengthBody), sc)
	if got == nil {
		if rest, _ := io.ReadAll(br); string(rest) != in {
			t.Fatalf("fast path refused %q but consumed %d bytes", in, len(in)-len(rest))
		}
		return
	}
	wantBr := bufio.NewReaderSize(strings.NewReader(in), 64<<10)
	want, err := http.ReadResponse(wantBr, req)
	if err != nil {
		t.Fatalf("fast path took %q, which net/http refuses: %v", in, err)
	}
	if got.Status != want.Status || got.StatusCode != want.StatusCode || got.Proto != want.Proto ||
		got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor ||
		got.ContentLength != want.ContentLength || got.Close != want.Close || got.Uncompressed != want.Uncompressed ||
		len(got.TransferEncoding) != len(want.TransferEncoding) || len(got.Trailer) != len(want.Trailer) || got.Request != want.Request {
		t.Fatalf("%q:\nfast     %+v\nnet/http %+v", in, got, want)
	}
	if !reflect.DeepEqual(got.Header, want.Header) {
		t.Fatalf("%q: header %#v, net/http %#v", in, got.Header, want.Header)
	}
	gotBody, gotErr := io.ReadAll(got.Body)
	wantBody, wantErr := io.ReadAll(want.Body)
	if string(gotBody) != string(wantBody) || !errors.Is(gotErr, wantErr) && !errors.Is(wantErr, gotErr) {
		t.Fatalf("%q: body %q (%v), net/http %q (%v)", in, gotBody, gotErr, wantBody, wantErr)
	}
	gotRest, _ := io.ReadAll(br)
	wantRest, _ := io.ReadAll(wantBr)
	if string(gotRest) != string(wantRest) {
		t.Fatalf("%q: left %q, net/http %q", in, gotRest, wantRest)
	}
}

// bufferedHeadOrNil is what the Server passes to readRequestFast.
func bufferedHeadOrNil(br *bufio.Reader) []byte {
	head, _ := bufferedHead(br)
	return head
}

// TestTokenBytes: the table holds the bytes of RFC 9110's tchar, and no
// other, on every byte.
func TestTokenBytes(t *testing.T) {
	tchar := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
	}
	n := 0
	for c := range 256 {
		if got, want := isTokenByte(byte(c)), tchar(byte(c)); got != want {
			t.Errorf("isTokenByte(%q) = %v, want %v", byte(c), got, want)
		}
		if isTokenByte(byte(c)) {
			n++
		}
	}
	if n != 26+26+10+15 {
		t.Errorf("%d token bytes, want 77", n)
	}
}

// TestRemoveHopHeaders: the scan of a small header removes what deleting
// every hop-by-hop name removes, and keeps the rest, for headers smaller
// and larger than the list.
func TestRemoveHopHeaders(t *testing.T) {
	for _, k := range hopHeaders {
		if !isHopHeader(k) {
			t.Errorf("isHopHeader(%q) = false", k)
		}
	}
	for _, k := range []string{"Host", "Cookie", "Upgrade-Insecure-Requests", "Tes", "Connectio", ""} {
		if isHopHeader(k) {
			t.Errorf("isHopHeader(%q) = true", k)
		}
	}
	for n := range 2 * len(hopHeaders) {
		h := http.Header{"Connection": {"X-Named, keep-alive"}, "X-Named": {"v"}, "Te": {"trailers"}, "Host": {"h"}}
		for i := range n {
			h[fmt.Sprintf("X-Extra-%d", i)] = []string{"v"}
		}
		want := h.Clone()
		for _, k := range append(hopHeaders[:], "X-Named", "Keep-Alive") {
			delete(want, k)
		}
		removeHopHeaders(h)
		if !reflect.DeepEqual(h, want) {
			t.Errorf("%d extra keys: removeHopHeaders left %v, want %v", n, h, want)
		}
	}
}
