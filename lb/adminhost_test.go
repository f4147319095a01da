package lb

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestAdminHostCheck: Serve's admin listener answers only Host values that
// are loopback addresses, localhost or Config.AdminHosts, with any port;
// any other Host gets 421 with a JSON error, so that a page rebound to
// 127.0.0.1 (DNS rebinding) cannot drive the API.
func TestAdminHostCheck(t *testing.T) {
	cases := []struct {
		host string
		want int
	}{
		{"", http.StatusOK}, // the admin address itself: 127.0.0.1:port
		{"127.0.0.1", http.StatusOK},
		{"127.1.2.3:8081", http.StatusOK},
		{"localhost:8081", http.StatusOK},
		{"LocalHost", http.StatusOK},
		{"localhost.", http.StatusOK},
		{"[::1]:8081", http.StatusOK},
		{"[::1]", http.StatusOK},
		{"lb.internal", http.StatusOK},
		{"LB.Internal:9000", http.StatusOK},
		{"10.0.0.5:8081", http.StatusOK},
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:8081", http.StatusMisdirectedRequest},
		{"localhost.evil.example", http.StatusMisdirectedRequest},
		{"127.0.0.1.evil.example", http.StatusMisdirectedRequest},
		{"10.0.0.6", http.StatusMisdirectedRequest},
		{"[::2]:8081", http.StatusMisdirectedRequest},
		{"internal", http.StatusMisdirectedRequest},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 1)
		r := serve(t, Config{Engine: engine, Targets: ts, AdminHosts: []string{"lb.internal", "10.0.0.5"}})
		for _, tc := range cases {
			t.Run("host "+tc.host, func(t *testing.T) {
				for _, path := range []string{"/", "/api/targets", "/metrics"} {
					req, err := http.NewRequest(http.MethodGet, r.admin+path, nil)
					if err != nil {
						t.Fatal(err)
					}
					if tc.host != "" {
						req.Host = tc.host
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != tc.want {
						t.Fatalf("GET %s: got %d, want %d", path, resp.StatusCode, tc.want)
					}
					if tc.want != http.StatusMisdirectedRequest {
						continue
					}
					var e struct{ Error string }
					if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, "host") {
						t.Errorf("GET %s: got body %q, want a JSON error naming the host", path, body)
					}
				}
			})
		}
		// A change is refused as misdirected too, before anything else.
		req, _ := http.NewRequest(http.MethodPost, r.admin+"/api/targets/app-1/drain", nil)
		req.Host = "evil.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest || targetState(r, "app-1") == StateDraining {
			t.Errorf("drain with Host evil.example: got %d and state %s, want 421 and no drain", resp.StatusCode, targetState(r, "app-1"))
		}
		// HTTP/1.0 without a Host names no host this listener answers to.
		c, err := net.Dial("tcp", strings.TrimPrefix(r.admin, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /api/targets HTTP/1.0\r\n\r\n")
		if status, _ := io.ReadAll(io.LimitReader(c, 12)); string(status) != "HTTP/1.0 421" && string(status) != "HTTP/1.1 421" {
			t.Errorf("HTTP/1.0 without Host: got %q, want 421", status)
		}
	})
}

// TestAdminHostsValidated: Config.AdminHosts holds host names or addresses,
// nothing that looks like a URL or a list.
func TestAdminHostsValidated(t *testing.T) {
	cases := []struct {
		host string
		ok   bool
	}{
		{"lb.internal", true},
		{"lb:8081", true},
		{"10.0.0.5", true},
		{"[fd00::1]", true},
		{"", false},
		{"http://lb.internal", false},
		{"a,b", false},
		{"lb internal", false},
	}
	for _, tc := range cases {
		err := Config{AdminHosts: []string{tc.host}}.CheckSettings()
		if got := err == nil; got != tc.ok {
			t.Errorf("AdminHosts %q: got error %v, want ok %v", tc.host, err, tc.ok)
		}
	}
}
