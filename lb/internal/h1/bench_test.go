package h1

// Benchmarks of the fast parsers on the heads bench-lb.sh sends and gets
// back (a sticky request with both cookies; a short plain response).

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

const benchReq = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: AWSALB=u4EmNnM1H7aLpqncE4mGzlQ8KgOHeXcx24Pu91GV0ajs9HKNEibOWvkyCdWMW5w; AWSALBCORS=u4EmNnM1H7aLpqncE4mGzlQ8KgOHeXcx24Pu91GV0ajs9HKNEibOWvkyCdWMW5w\r\n\r\n"
const benchResp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 07 Dec 2026 23:31:48 GMT\r\nContent-Length: 14\r\n\r\nhello from b1\n"

func BenchmarkReadRequestFast(b *testing.B) {
	var sc headScratch
	sr := strings.NewReader(benchReq)
	br := bufio.NewReaderSize(sr, 4096)
	b.ReportAllocs()
	for b.Loop() {
		sr.Reset(benchReq)
		br.Reset(sr)
		br.Peek(len(benchReq))
		head, _ := bufferedHead(br)
		if readRequestFast(br, head, &sc) == nil {
			b.Fatal("not fast")
		}
	}
}

func BenchmarkReadResponseFast(b *testing.B) {
	var sc headScratch
	req := &http.Request{Method: "GET"}
	sr := strings.NewReader(benchResp)
	br := bufio.NewReaderSize(sr, 4096)
	var body lengthBody
	b.ReportAllocs()
	for b.Loop() {
		sr.Reset(benchResp)
		br.Reset(sr)
		br.Peek(len(benchResp))
		if readResponseFast(br, req, &body, &sc) == nil {
			b.Fatal("not fast")
		}
	}
}

func BenchmarkRemoveHop(b *testing.B) {
	h := http.Header{"Content-Type": {"t"}, "Date": {"d"}, "Content-Length": {"14"}, "Set-Cookie": {"a", "b"}}
	b.ReportAllocs()
	for b.Loop() {
		removeHopHeaders(h)
	}
}
