package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"stickylab/sessionstore"
)

var testKeys = [][]byte{[]byte("test-key-0123456789-0123456789-01")}

// newMemoryStore returns a memory store closed when t ends.
func newMemoryStore(t *testing.T, metrics *sessionstore.Metrics) *sessionstore.Store {
	t.Helper()
	s, err := sessionstore.NewMemory(testKeys, sessionstore.Config{Metrics: metrics})
	if err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newRedisStore returns a Redis store on the server at addr, with time-outs
// short enough for outage tests, closed when t ends.
func newRedisStore(t *testing.T, addr string) *sessionstore.Store {
	t.Helper()
	client := redis.NewClient(&redis.Options{
		Addr:                  addr,
		DialTimeout:           300 * time.Millisecond,
		ReadTimeout:           300 * time.Millisecond,
		WriteTimeout:          300 * time.Millisecond,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
	})
	t.Cleanup(func() { client.Close() })
	s, err := sessionstore.NewRedis(client, testKeys, sessionstore.Config{})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// logBuffer collects log output; safe for concurrent handlers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is an App behind an httptest server.
type testServer struct {
	*httptest.Server
	app *App
	log *logBuffer
}

// serve starts an App called name on store, with its own registry.
func serve(t *testing.T, name string, store Store) *testServer {
	t.Helper()
	logs := &logBuffer{}
	a, err := New(Config{
		Name:     name,
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: prometheus.NewRegistry(),
	}, store)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, app: a, log: logs}
}

// client is a browser-like client with a cookie jar that does not follow
// redirects, so that tests see the 303s.
type client struct {
	t    *testing.T
	http *http.Client
}

func newClient(t *testing.T) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request with the given Content-Type (none when empty) and
// extra headers as name, value pairs.
func (c *client) do(method, url, contentType, body string, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// postJSON posts body to an /api/ route and checks the status.
func (c *client) postJSON(url, body string, want int) response {
	c.t.Helper()
	r := c.do(http.MethodPost, url, "application/json", body)
	if r.status != want {
		c.t.Fatalf("POST %s %s: got status %d, want %d; body %s", url, body, r.status, want, r.body)
	}
	return r
}

// session answers GET /api/session (which counts a visit).
func (c *client) session(base string) sessionView {
	c.t.Helper()
	r := c.do(http.MethodGet, base+"/api/session", "", "")
	if r.status != http.StatusOK {
		c.t.Fatalf("GET /api/session: got status %d, want 200; body %s", r.status, r.body)
	}
	return decodeView(c.t, r.body)
}

// cookie returns the value of the session cookie the jar holds for base.
func (c *client) cookie(base string) string {
	c.t.Helper()
	req := httptest.NewRequest(http.MethodGet, base, nil)
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		if ck.Name == DefaultCookieName {
			return ck.Value
		}
	}
	return ""
}

func decodeView(t *testing.T, body string) sessionView {
	t.Helper()
	var v sessionView
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode session JSON %q: %v", body, err)
	}
	return v
}

// errorBody returns the message of a JSON error answer, failing the test
// when the answer is not exactly {"error": "..."}.
func errorBody(t *testing.T, r response) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answer: got Content-Type %q, want application/json; body %s", ct, r.body)
	}
	var e map[string]string
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || len(e) != 1 || e["error"] == "" {
		t.Fatalf("error answer: got %s, want {\"error\": \"...\"}", r.body)
	}
	return e["error"]
}
