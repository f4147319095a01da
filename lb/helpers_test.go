package lb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// backend is a test target: it answers with its name, reports the request
// headers it got, and sets or deletes an application cookie like the app's
// login and logout.
type backend struct {
	name    string
	srv     *httptest.Server
	url     *url.URL
	healthy atomic.Bool   // /healthz answers 200 when true, 503 when false
	die     atomic.Bool   // / closes the connection without answering when true
	release chan struct{} // /slow answers once this is closed
	entered chan struct{} // /slow sends here when a request arrives
}

const testAppCookie = "stickylab_session"

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	be := &backend{name: name, release: make(chan struct{}), entered: make(chan struct{}, 16)}
	be.healthy.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !be.healthy.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		be.entered <- struct{}{}
		select {
		case <-be.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("X-Backend", name)
		io.WriteString(w, name)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "target failure", http.StatusInternalServerError)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-be.release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "second\n")
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Backend: " + name + "\r\n\r\n")
		rw.Flush()
		io.Copy(conn, rw) // echo until the client closes
	})
	mux.HandleFunc("/switch", func(w http.ResponseWriter, r *http.Request) {
		// Switches protocols although the request asked for no upgrade.
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\n")
		rw.Flush()
		io.Copy(io.Discard, rw)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if be.die.Load() {
			io.Copy(io.Discard, r.Body)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		w.Header().Set("X-Backend", name)
		io.WriteString(w, name)
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		json.NewEncoder(w).Encode(map[string]any{"header": r.Header, "host": r.Host})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		http.SetCookie(w, &http.Cookie{Name: testAppCookie, Value: "s-" + name, Path: "/", HttpOnly: true})
		io.WriteString(w, name)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		http.SetCookie(w, &http.Cookie{Name: testAppCookie, Value: "", Path: "/", MaxAge: -1})
		io.WriteString(w, name)
	})
	be.srv = httptest.NewServer(mux)
	t.Cleanup(be.srv.Close)
	be.url, _ = url.Parse(be.srv.URL)
	return be
}

// kill stops the backend abruptly: its listener and every open connection
// close, as when the process dies.
func (be *backend) kill() {
	be.srv.CloseClientConnections()
	be.srv.Listener.Close()
	be.srv.CloseClientConnections()
}

// restart serves the backend again on the same address, as a restarted
// process would.
func (be *backend) restart(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", be.url.Host)
	if err != nil {
		t.Fatalf("restart %s on %s: %v", be.name, be.url.Host, err)
	}
	srv := httptest.NewUnstartedServer(be.srv.Config.Handler)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	be.srv = srv
}

func backends(t *testing.T, n int) ([]*backend, []Target) {
	t.Helper()
	var bs []*backend
	var ts []Target
	for i := range n {
		b := newBackend(t, "app-"+string(rune('1'+i)))
		bs = append(bs, b)
		ts = append(ts, Target{Name: b.name, URL: b.url})
	}
	return bs, ts
}

// running is a Balancer served on loopback ports for one test.
type running struct {
	*Balancer
	url   string // the proxy
	admin string // the admin API
	stop  func() // cancels Serve and waits for it
}

// engines are the values of Config.Engine that every test through Serve
// runs on: both engines must give the same ALB behaviour.
var engines = []string{EngineStd, EngineFast}

// forEachEngine runs test as a subtest for each engine, named for it.
func forEachEngine(t *testing.T, test func(t *testing.T, engine string)) {
	t.Helper()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { test(t, engine) })
	}
}

// serve starts b.Serve on free loopback ports; the test's cleanup stops it
// and checks that Serve returned nil.
func serve(t *testing.T, cfg Config) *running {
	t.Helper()
	return serveWith(t, cfg, nil)
}

// serveWith is serve with prepare, when not nil, called on the Balancer
// before it serves.
func serveWith(t testing.TB, cfg Config, prepare func(*Balancer)) *running {
	t.Helper()
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 50 * time.Millisecond
		cfg.HealthTimeout = 40 * time.Millisecond
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if prepare != nil {
		prepare(b)
	}
	pl := listen(t)
	al := listen(t)
	stop := serveInTest(t, func(ctx context.Context) error { return b.Serve(ctx, pl, al) })
	return &running{Balancer: b, url: "http://" + pl.Addr().String(), admin: "http://" + al.Addr().String(), stop: stop}
}

// serveInTest runs serve in a goroutine until the returned stop, which the
// test's cleanup calls too: it cancels serve's context and checks that
// serve returned nil.
func serveInTest(t testing.TB, serve func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve returned %v, want nil", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Serve did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitHealthy waits until every target of r is healthy.
func waitHealthy(t testing.TB, r *running) {
	t.Helper()
	waitFor(t, "all targets healthy", func() bool {
		for _, ts := range r.Targets() {
			if ts.State != "healthy" {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until it holds or 10 seconds have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func targetState(r *running, name string) string {
	for _, ts := range r.Targets() {
		if ts.Name == name {
			return ts.State
		}
	}
	return ""
}

// newClient returns a client with a cookie jar that does not follow
// redirects.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, c *http.Client, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, string(body)
}

// setCookies returns the response's Set-Cookie lines by cookie name.
func setCookies(resp *http.Response) map[string]string {
	out := map[string]string{}
	for _, line := range resp.Header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(line, "=")
		out[name] = line
	}
	return out
}

// counterValue reads a counter's current value.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
