package lb

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRoundRobinSpreads(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 3)
		r := serve(t, Config{Engine: engine, Targets: ts})
		waitHealthy(t, r)
		c := newClient(t)
		count := map[string]int{}
		for range 9 {
			resp, body := do(t, c, "GET", r.url+"/", nil)
			if len(resp.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("mode none set a cookie: %q", resp.Header.Values("Set-Cookie"))
			}
			count[body]++
		}
		for _, b := range []string{"app-1", "app-2", "app-3"} {
			if count[b] != 3 {
				t.Errorf("9 requests: %v, want 3 on each target", count)
				break
			}
		}
	})
}

// TestLeastOutstanding: a target busy with a slow request gets no new one
// while the others are idle.
func TestLeastOutstanding(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts, Algorithm: LeastOutstandingRequests})
		waitHealthy(t, r)
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, err := http.Get(r.url + "/slow")
			if err == nil {
				resp.Body.Close()
			}
		}()
		var busy *backend
		select {
		case <-bs[0].entered:
			busy = bs[0]
		case <-bs[1].entered:
			busy = bs[1]
		case <-time.After(10 * time.Second):
			t.Fatal("slow request did not arrive")
		}
		for i := range 6 {
			if _, body := do(t, http.DefaultClient, "GET", r.url+"/", nil); body == busy.name {
				t.Fatalf("request %d went to %s, which has a request outstanding", i, body)
			}
		}
		close(bs[0].release)
		close(bs[1].release)
		<-done
	})
}

// TestPassiveFailoverMethods: a refused connection moves any request, a
// target that dies without answering moves only idempotent ones, and with
// passive failover off nothing moves.
func TestPassiveFailoverMethods(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		cases := []struct {
			name       string
			failover   bool
			kill       bool // kill app-1 (refused) rather than have it drop the request
			method     string
			wantStatus int
		}{
			{"refused POST moves", true, true, "POST", 200},
			{"refused GET moves", true, true, "GET", 200},
			{"dropped GET moves", true, false, "GET", 200},
			{"dropped DELETE moves", true, false, "DELETE", 200},
			{"dropped POST fails", true, false, "POST", 502},
			{"no failover: refused GET fails", false, true, "GET", 502},
			{"no failover: dropped GET fails", false, false, "GET", 502},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				bs, ts := backends(t, 2)
				r := serve(t, Config{Engine: engine, Targets: ts, PassiveFailover: tc.failover, HealthInterval: time.Minute, HealthTimeout: time.Second})
				waitHealthy(t, r)
				if tc.kill {
					bs[0].kill()
				} else {
					bs[0].die.Store(true)
				}
				// Round robin: the first request goes to app-1.
				var body io.Reader
				if tc.method == "POST" {
					body = strings.NewReader("form=1")
				}
				req, _ := http.NewRequest(tc.method, r.url+"/", body)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("%s: status %d %q, want %d", tc.method, resp.StatusCode, got, tc.wantStatus)
				}
				if tc.wantStatus == 200 && string(got) != "app-2" {
					t.Errorf("answered by %q, want app-2", got)
				}
				wantState := "healthy"
				if tc.failover && tc.kill {
					wantState = "unhealthy"
				}
				if got := targetState(r, "app-1"); got != wantState {
					t.Errorf("app-1 is %s, want %s", got, wantState)
				}
			})
		}
	})
}

// TestStreamingFlushed: a streamed response reaches the client before it
// is complete.
func TestStreamingFlushed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, ts := backends(t, 1)
		r := serve(t, Config{Engine: engine, Targets: ts})
		resp, err := http.Get(r.url + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		if line, err := br.ReadString('\n'); line != "first\n" || err != nil {
			t.Fatalf("first line %q, %v; want it before the response ends", line, err)
		}
		close(bs[0].release)
		if rest, _ := io.ReadAll(br); string(rest) != "second\n" {
			t.Errorf("rest %q, want second", rest)
		}
	})
}

// TestWebSocketUpgrade: an upgrade is passed through and the connection
// stays on the target that answered 101, with the sticky cookie set.
func TestWebSocketUpgrade(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 2)
		r := serve(t, Config{Engine: engine, Targets: ts, Sticky: StickyDuration})
		conn, br, resp := dialWebSocket(t, r.url)
		if setCookies(resp)["AWSALB"] == "" {
			t.Errorf("101 response without AWSALB cookie")
		}
		for _, msg := range []string{"ping\n", "pong\n"} {
			io.WriteString(conn, msg)
			if got, err := br.ReadString('\n'); got != msg || err != nil {
				t.Fatalf("echo %q, %v; want %q", got, err, msg)
			}
		}
	})
}

// dialWebSocket opens a WebSocket to the backends' echo through the
// balancer at url; the test's cleanup closes it.
func dialWebSocket(t *testing.T, url string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: lb\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("got %s with Upgrade %q, want 101 websocket", resp.Status, resp.Header.Get("Upgrade"))
	}
	return conn, br, resp
}

// TestShutdownEndsWebSockets: an upgraded connection, which the servers'
// graceful shutdown does not track, is closed once Serve returns, target
// side and client side.
func TestShutdownEndsWebSockets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 1)
		r := serve(t, Config{Engine: engine, Targets: ts, ShutdownTimeout: 100 * time.Millisecond})
		conn, br, _ := dialWebSocket(t, r.url)
		io.WriteString(conn, "ping\n")
		if got, err := br.ReadString('\n'); got != "ping\n" || err != nil {
			t.Fatalf("echo %q, %v; want ping", got, err)
		}
		r.stop()
		// The deadline of dialWebSocket bounds the read: a timeout is a
		// connection left open.
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read after Serve returned: got %v, want EOF or a reset", err)
		}
	})
}

// TestGracefulShutdown: a request in flight when Serve's context ends is
// answered, and new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, ts := backends(t, 1)
		r := serve(t, Config{Engine: engine, Targets: ts})
		got := make(chan string, 1)
		go func() {
			resp, err := http.Get(r.url + "/slow")
			if err != nil {
				got <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- resp.Status + " " + string(body)
		}()
		<-bs[0].entered
		stopped := make(chan struct{})
		go func() {
			r.stop()
			close(stopped)
		}()
		waitFor(t, "the listener to close", func() bool {
			c, err := net.Dial("tcp", strings.TrimPrefix(r.url, "http://"))
			if err == nil {
				c.Close()
			}
			return err != nil
		})
		close(bs[0].release)
		if g := <-got; g != "200 OK app-1" {
			t.Errorf("in-flight request got %q, want 200 OK app-1", g)
		}
		<-stopped
	})
}

func TestServeTwice(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 1)
		r := serve(t, Config{Engine: engine, Targets: ts})
		waitFor(t, "the first Serve", r.serving.Load)
		if err := r.Serve(t.Context(), listen(t), nil); err == nil {
			t.Error("second Serve returned nil, want an error")
		}
	})
}

// TestShutdownEndsStuckRequests: a request whose target never answers does
// not hold Serve beyond ShutdownTimeout.
func TestShutdownEndsStuckRequests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		bs, ts := backends(t, 1)
		defer close(bs[0].release)
		r := serve(t, Config{Engine: engine, Targets: ts, ShutdownTimeout: 100 * time.Millisecond})
		failed := make(chan error, 1)
		go func() {
			resp, err := http.Get(r.url + "/slow")
			if err == nil {
				resp.Body.Close()
			}
			failed <- err
		}()
		<-bs[0].entered
		stopped := make(chan struct{})
		go func() {
			r.stop()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("Serve still running 10s after cancel with a 100ms shutdown timeout")
		}
		if err := <-failed; err == nil {
			t.Error("the stuck request got an answer, want its connection closed")
		}
	})
}

// TestBodyCopyAbortKeepsCounts: a target that dies in the middle of a body
// makes ReverseProxy abort the response (under http.Server, by panicking);
// the request still leaves the in-flight count.
func TestBodyCopyAbortKeepsCounts(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}))
	defer target.Close()
	u, _ := url.Parse(target.URL)
	b, err := New(Config{Targets: []Target{{Name: "t", URL: u}}})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(b) // http.Server, where ReverseProxy panics
	defer front.Close()
	if resp, err := http.Get(front.URL); err == nil {
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	waitFor(t, "the request to leave the in-flight count", func() bool { return b.Targets()[0].InFlight == 0 })
	if got := b.Targets()[0].Requests; got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}
