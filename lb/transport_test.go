package lb

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestWriteHead: a request written by the fast path reads back as the same
// request, as http.Request.Write's would.
func TestWriteHead(t *testing.T) {
	cases := []struct {
		name, method, url string
		header            http.Header
		wantURI           string
		wantLength        string
	}{
		{"get with query", "GET", "http://t/a/b?x=1&y=%20", http.Header{"Accept": {"*/*"}}, "/a/b?x=1&y=%20", ""},
		{"escaped path", "GET", "http://t/a%2Fb/%C3%A9", nil, "/a%2Fb/%C3%A9", ""},
		{"empty path", "GET", "http://t", nil, "/", ""},
		{"force query", "GET", "http://t/p?", nil, "/p?", ""},
		{"post without body", "POST", "http://t/logout", nil, "/logout", "0"},
		{"delete", "DELETE", "http://t/x", nil, "/x", ""},
		{"repeated header", "GET", "http://t/", http.Header{"Cookie": {"a=1", "b=2"}}, "/", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "shop.example"
			for k, v := range tc.header {
				req.Header[k] = v
			}
			req.Header.Set("User-Agent", "") // as ReverseProxy leaves it
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			writeHead(bw, req)
			bw.Flush()
			got, err := http.ReadRequest(bufio.NewReader(&buf))
			if err != nil {
				t.Fatalf("written request %q does not parse: %v", buf.String(), err)
			}
			if got.Method != tc.method || got.RequestURI != tc.wantURI || got.Host != "shop.example" {
				t.Errorf("read %s %s host %s, want %s %s host shop.example", got.Method, got.RequestURI, got.Host, tc.method, tc.wantURI)
			}
			if l := got.Header.Get("Content-Length"); l != tc.wantLength {
				t.Errorf("Content-Length %q, want %q", l, tc.wantLength)
			}
			if _, ok := got.Header["User-Agent"]; ok {
				t.Errorf("empty User-Agent was sent")
			}
			for k, v := range tc.header {
				if g := got.Header[k]; strings.Join(g, "|") != strings.Join(v, "|") {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

// TestWriteHeadersCutsLineBreaks: a value with a line break cannot add a
// header.
func TestWriteHeadersCutsLineBreaks(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	writeHeaders(bw, http.Header{"X-A": {"ok\r\nX-Injected: 1"}})
	bw.Flush()
	if got := buf.String(); got != "X-A: ok\r\n" {
		t.Errorf("wrote %q, want %q", got, "X-A: ok\r\n")
	}
}
