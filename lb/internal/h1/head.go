package h1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// The common request and response heads, parsed without net/http's
// per-line allocations.
//
// Why: http.ReadRequest and http.ReadResponse allocate a string and a slice
// per header line, and were the largest part of the balancer's own work per
// request after the system calls (scripts/bench-lb.sh, perf). These parsers
// take the plainest case only: the whole head already buffered, CRLF line
// endings, printable ASCII, a request in origin form without a body, a
// response with one Content-Length. The head becomes one string whose
// substrings are the header keys (when already canonical, as they almost
// always are) and values. Anything else, and anything they do not
// recognise, is left unread for net/http's parser, so that every odd or
// hostile input meets exactly the checks it met before; fasthead_test.go
// compares both parsers on a corpus and a fuzz target.

// bufferedHead returns the head at the start of br's buffer, up to and
// including the blank line, when it is all there.
func bufferedHead(br *bufio.Reader) ([]byte, bool) {
	b, _ := br.Peek(br.Buffered())
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false
	}
	return b[:end+4], true
}

// headScratch is what the fast parsers build a head in, reused from one
// head to the next of a connection: the header map and the value slots
// behind it, and the Request, its URL or the Response. All of it is
// garbage once the head's request is served, and would be allocated again
// for the next one.
type headScratch struct {
	h    http.Header
	vals []string
	req  http.Request
	url  url.URL
	resp http.Response
}

// fastHeader parses the header lines of head (which starts after the first
// line and ends with the blank line) into a header of n values, in sc's
// storage. Keys and values are substrings of s, the
// head as a string. It reports false for anything but plain "Key: value"
// lines of printable ASCII.
func fastHeader(s string, sc *headScratch) (http.Header, bool) {
	var h http.Header
	if sc.h != nil && len(sc.h) <= maxKeptHeaderKeys {
		clear(sc.h)
		h = sc.h
	} else {
		h = make(http.Header, 8)
	}
	// The values are appended to the slots of the previous head: a value
	// slice in h stays valid when a longer head makes the slots move.
	vals := sc.vals[:0]
	defer func() { sc.h, sc.vals = h, vals }()
	for {
		line, rest, _ := strings.Cut(s, "\r\n")
		if line == "" {
			return h, true
		}
		s = rest
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return nil, false
		}
		key, ok := canonicalKey(line[:colon])
		if !ok {
			return nil, false
		}
		v := line[colon+1:]
		for j := 0; j < len(v); j++ {
			if c := v[j]; (c < ' ' && c != '\t') || c > '~' {
				return nil, false
			}
		}
		v = strings.Trim(v, " \t")
		if vv := h[key]; vv != nil {
			h[key] = append(vv, v)
			continue
		}
		vals = append(vals, v)
		n := len(vals)
		h[key] = vals[n-1 : n : n]
	}
}

// canonicalKey returns key in the canonical form of
// textproto.CanonicalMIMEHeaderKey, without allocating when it already is
// (as nearly every client sends it), and false when key is not a token.
func canonicalKey(key string) (string, bool) {
	upper, canonical := true, true
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !isTokenByte(c) {
			return "", false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if !canonical {
		key = textproto.CanonicalMIMEHeaderKey(key)
	}
	return key, true
}

// isTokenByte reports whether c may appear in a header field name (RFC 9110
// token).
func isTokenByte(c byte) bool { return tokenBytes[c] }

// tokenBytes: the bytes of an RFC 9110 token, a table rather than a search
// since every byte of every header name of every request is looked up.
var tokenBytes = func() (t [256]bool) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			t[c] = true
		}
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()

// hasToken reports whether the comma-separated header values contain token,
// compared without ASCII case, as net/http reads Connection and
// ReverseProxy reads Te (not strings.EqualFold, for which "cloſe" is
// "close").
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if asciiEqualFold(strings.Trim(f, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// asciiEqualFold reports whether a and b are equal ignoring the case of
// ASCII letters; other bytes must be equal.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// readRequestFast reads a bodiless HTTP/1.1 request in origin form from
// br, as http.ReadRequest would. It returns nil and reads nothing when the
// request is not one it takes.
//
// head is br's buffered head (bufferedHead), nil when it is not all there.
// The request is built in sc (a new one when nil): it is then valid until
// sc's next use.
func readRequestFast(br *bufio.Reader, head []byte, sc *headScratch) *http.Request {
	if head == nil {
		return nil
	}
	lineEnd := bytes.Index(head, []byte("\r\n"))
	line := head[:lineEnd]
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 || !bytes.HasSuffix(line, []byte(" HTTP/1.1")) {
		return nil
	}
	uriEnd := len(line) - len(" HTTP/1.1")
	if uriEnd <= sp1+1 || line[sp1+1] != '/' {
		return nil
	}
	for _, c := range line[:uriEnd] {
		if c <= ' ' && c != ' ' || c > '~' {
			return nil
		}
	}
	if bytes.IndexByte(line[sp1+1:uriEnd], ' ') >= 0 {
		return nil
	}
	for _, c := range line[:sp1] {
		if !isTokenByte(c) {
			return nil
		}
	}
	s := string(head)
	if sc == nil {
		sc = new(headScratch)
	}
	h, ok := fastHeader(s[lineEnd+2:], sc)
	if !ok {
		return nil
	}
	// What changes framing, or what net/http rewrites, is net/http's.
	for _, k := range [...]string{"Content-Length", "Transfer-Encoding", "Trailer", "Pragma"} {
		if _, ok := h[k]; ok {
			return nil
		}
	}
	hosts := h["Host"]
	if len(hosts) > 1 {
		return nil
	}
	rawURI := s[sp1+1 : uriEnd]
	var u *url.URL
	if plainOriginForm(rawURI, &sc.url) {
		u = &sc.url
	} else {
		var err error
		if u, err = url.ParseRequestURI(rawURI); err != nil {
			return nil
		}
	}
	req := &sc.req
	*req = http.Request{
		Method:        s[:sp1],
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          http.NoBody,
		ContentLength: 0,
		Close:         hasToken(h["Connection"], "close"),
		RequestURI:    rawURI,
	}
	if len(hosts) == 1 {
		req.Host = hosts[0]
		delete(h, "Host")
	}
	br.Discard(len(head))
	return req
}

// plainOriginForm sets u to what url.ParseRequestURI makes of raw, an
// origin-form request target ("/path?query"), when its path is made of
// bytes that need no escaping (so Path is the path as sent and RawPath is
// empty); it reports false otherwise, for url.ParseRequestURI to parse.
func plainOriginForm(raw string, u *url.URL) bool {
	path, query, hasQuery := strings.Cut(raw, "?")
	if path == "" || path[0] != '/' {
		return false
	}
	for i := 0; i < len(path); i++ {
		if !plainPathByte(path[i]) {
			return false
		}
	}
	*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
	return true
}

// plainPathByte reports whether c stands for itself in a URL path: an
// unreserved byte, or a sub-delimiter that url.URL does not escape in
// paths.
func plainPathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
		return true
	}
	return false
}

// readResponseFast reads the head of a response to a request other than
// HEAD with exactly one Content-Length, no Transfer-Encoding and no
// Connection or Trailer header, as http.ReadResponse would. The body is
// framed by the length, in body when not nil; the caller wraps it. The
// response is built in sc, as with readRequestFast. It returns
// nil and reads nothing when the response is not one it takes.
func readResponseFast(br *bufio.Reader, req *http.Request, body *lengthBody, sc *headScratch) *http.Response {
	if req.Method == http.MethodHead || req.Method == http.MethodConnect {
		return nil
	}
	head, ok := bufferedHead(br)
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 ")) {
		return nil
	}
	lineEnd := bytes.Index(head, []byte("\r\n"))
	line := head[len("HTTP/1.1 "):lineEnd]
	// Three digits, then the end or a space and the reason.
	if len(line) < 3 || (len(line) > 3 && line[3] != ' ') {
		return nil
	}
	code := 0
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return nil
		}
		code = 10*code + int(c-'0')
	}
	// 1xx, 204 and 304 have their own framing rules: net/http's.
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil
	}
	for _, c := range line {
		if (c < ' ' && c != '\t') || c > '~' {
			return nil
		}
	}
	s := string(head)
	if sc == nil {
		sc = new(headScratch)
	}
	h, ok := fastHeader(s[lineEnd+2:], sc)
	if !ok {
		return nil
	}
	for _, k := range [...]string{"Transfer-Encoding", "Connection", "Trailer"} {
		if _, ok := h[k]; ok {
			return nil
		}
	}
	cl := h["Content-Length"]
	if len(cl) != 1 || cl[0] == "" || len(cl[0]) > 18 {
		return nil
	}
	length, err := strconv.ParseUint(cl[0], 10, 63)
	if err != nil || cl[0][0] == '+' {
		return nil
	}
	resp := &sc.resp
	*resp = http.Response{
		Status:        strings.TrimLeft(s[len("HTTP/1.1 "):lineEnd], " "),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(length),
		Request:       req,
	}
	br.Discard(len(head))
	switch {
	case length == 0:
		resp.Body = http.NoBody
	case body != nil:
		*body = lengthBody{r: br, n: int64(length)}
		resp.Body = body
	default:
		resp.Body = &lengthBody{r: br, n: int64(length)}
	}
	return resp
}

// lengthBody is a response body of a known length read from a kept-alive
// connection: it ends in io.EOF after exactly that many bytes, and in
// io.ErrUnexpectedEOF when the connection ends first.
type lengthBody struct {
	r io.Reader
	n int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if b.n == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }
