package lb

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestTargetLeftoverBytesDropConnection: a target that sends more than it
// announced (an unsolicited response after its answer, a longer body than
// its Content-Length, a body on a HEAD answer) must not have those bytes
// read as the answer to the next request, of this client or another: every
// client gets its own answer (or the balancer's 502), and the connection
// with leftover bytes is dropped, as http.Transport does ("Unsolicited
// response received on idle HTTP channel").
func TestTargetLeftoverBytesDropConnection(t *testing.T) {
	const smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"
	cases := []struct {
		name   string
		method string
		answer func(w *bufio.Writer)
	}{
		{"unsolicited response", "GET", func(w *bufio.Writer) {
			writeRaw(w, "200 OK", "/bad")
			w.WriteString(smuggled)
		}},
		{"more than Content-Length", "GET", func(w *bufio.Writer) {
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n/bad" + smuggled)
		}},
		{"body on a HEAD answer", "HEAD", func(w *bufio.Writer) {
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n" + smuggled)
		}},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, addr := serveLenient(t, engine, func(w *bufio.Writer, req *http.Request) bool {
					if req.URL.Path == "/bad" {
						tc.answer(w)
						return true
					}
					return answerPath(w, req)
				})
				// One client pipelines the bad request and two more;
				// then other clients ask on their own connections.
				wire := tc.method + " /bad HTTP/1.1\r\nHost: lb\r\n\r\n" +
					"GET /one HTTP/1.1\r\nHost: lb\r\n\r\n" + "GET /two HTTP/1.1\r\nHost: lb\r\n\r\n"
				got := exchangeRaw(t, addr, wire, tc.method, "GET", "GET")
				want := []string{"/bad", "/one", "/two"}
				if tc.method == "HEAD" {
					want[0] = ""
				}
				checkOwnAnswers(t, "pipelining client", got, want)
				for _, path := range []string{"/three", "/four", "/five"} {
					got := exchangeRaw(t, addr, "GET "+path+" HTTP/1.1\r\nHost: lb\r\n\r\n", "GET")
					checkOwnAnswers(t, "client of "+path, got, []string{path})
				}
			})
		}
	})
}

// checkOwnAnswers checks that the i-th answer a client got is the answer
// to its i-th request (a body of want[i]) or the balancer's 502, and that
// it got them all.
func checkOwnAnswers(t *testing.T, who string, got []rawResponse, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d answers %v, want %d", who, len(got), got, len(want))
	}
	for i, resp := range got {
		if i < len(want) && resp.status == http.StatusOK && resp.body == want[i] {
			continue
		}
		if resp.status == http.StatusBadGateway {
			continue
		}
		t.Errorf("%s: answer %d is %v, want 200 with its own path or 502 (asked %q)", who, i+1, resp, want)
	}
}

// TestTargetResponseHeadLimit: a target's response head larger than
// maxResponseHeaderBytes gets the client a 502 on both engines, not a
// forwarded head of any size; a large head within the limit passes.
func TestTargetResponseHeadLimit(t *testing.T) {
	cases := []struct {
		name   string
		header int // bytes of one header value
		want   int
	}{
		{"within the limit", maxResponseHeaderBytes / 2, http.StatusOK},
		{"over the limit", maxResponseHeaderBytes + 1, http.StatusBadGateway},
		{"far over the limit", 8 * maxResponseHeaderBytes, http.StatusBadGateway},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, addr := serveLenient(t, engine, func(w *bufio.Writer, req *http.Request) bool {
					w.WriteString("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", tc.header) + "\r\nContent-Length: 2\r\n\r\nok")
					return true
				})
				got := exchangeRaw(t, addr, "GET / HTTP/1.1\r\nHost: lb\r\n\r\n", "GET")
				if len(got) != 1 || got[0].status != tc.want {
					t.Errorf("got %v, want %d", got, tc.want)
				}
			})
		}
	})
}

// TestTargetLeftoverBytesUnderLoad: the leftover bytes of a target that
// sends more than it announced never become another client's answer while
// other clients wait for a connection to that target: http.Transport hands
// a connection on as soon as a body is read, before it looks at what is
// left (stdconn.go).
func TestTargetLeftoverBytesUnderLoad(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, addr := serveLenient(t, engine, func(w *bufio.Writer, req *http.Request) bool {
			writeRaw(w, "200 OK", req.URL.Path)
			if req.URL.Path == "/bad" {
				writeRaw(w, "200 OK", "smuggled")
			}
			return true
		})
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				path := "/ok" + strconv.Itoa(i)
				if i%2 == 0 {
					path = "/bad"
				}
				client := &http.Client{Transport: &http.Transport{}}
				defer client.CloseIdleConnections()
				for range 300 {
					resp, err := client.Get("http://" + addr + path)
					if err != nil {
						t.Errorf("GET %s: %v", path, err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusBadGateway && string(body) != path {
						t.Errorf("GET %s: got %d %q, want its own answer or 502", path, resp.StatusCode, body)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}
