package lb

import (
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var traceRoot = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)

func TestTraceID(t *testing.T) {
	now := time.Unix(0x67891233, 0)
	cases := []struct {
		name, prior string
		check       func(t *testing.T, got string)
	}{
		{"absent: new Root", "", func(t *testing.T, got string) {
			root, ok := strings.CutPrefix(got, "Root=")
			if !ok || !traceRoot.MatchString(root) || !strings.HasPrefix(root, "1-67891233-") {
				t.Errorf("got %q, want Root=1-67891233-<24 hex>", got)
			}
		}},
		{"Root kept, Self added first", "Root=1-5759e988-bd862e3fe1be46a994272793", func(t *testing.T, got string) {
			self, rest, _ := strings.Cut(got, ";")
			if !strings.HasPrefix(self, "Self=") || !traceRoot.MatchString(strings.TrimPrefix(self, "Self=")) {
				t.Errorf("got %q, want Self=1-<8 hex>-<24 hex> first", got)
			}
			if rest != "Root=1-5759e988-bd862e3fe1be46a994272793" {
				t.Errorf("got %q, want the client's Root kept", got)
			}
		}},
		{"old Self replaced, other fields kept", "Self=1-1-1;Root=1-5759e988-bd862e3fe1be46a994272793;CalledFrom=app", func(t *testing.T, got string) {
			if strings.Count(got, "Self=") != 1 || strings.Contains(got, "Self=1-1-1") {
				t.Errorf("got %q, want one new Self", got)
			}
			if !strings.HasSuffix(got, ";Root=1-5759e988-bd862e3fe1be46a994272793;CalledFrom=app") {
				t.Errorf("got %q, want Root and CalledFrom kept", got)
			}
		}},
		{"fields without Root: Root added", "CalledFrom=app", func(t *testing.T, got string) {
			if !strings.HasPrefix(got, "Root=1-67891233-") || !strings.HasSuffix(got, ";CalledFrom=app") {
				t.Errorf("got %q, want Root=...;CalledFrom=app", got)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, traceID(tc.prior, now)) })
	}
	if a, b := traceID("", now), traceID("", now); a == b {
		t.Errorf("two trace ids are equal: %q", a)
	}
}

// TestForwardedHeaders checks what the target sees: X-Forwarded-For
// appended, X-Forwarded-Proto and -Port of the listener, a trace id, the
// client's Host, and no client-forged X-Forwarded-Proto.
func TestForwardedHeaders(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		_, ts := backends(t, 1)
		r := serve(t, Config{Engine: engine, Targets: ts})
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.url, "http://"))
		cases := []struct {
			name    string
			send    map[string]string
			wantXFF string
		}{
			{"no prior", nil, "127.0.0.1"},
			{"appended", map[string]string{"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}, "203.0.113.7, 10.0.0.1, 127.0.0.1"},
			{"forged proto dropped", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}, "127.0.0.1"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				send := map[string]string{"Host": "shop.example"}
				for k, v := range tc.send {
					send[k] = v
				}
				req, _ := http.NewRequest("GET", r.url+"/headers", nil)
				for k, v := range send {
					req.Header.Set(k, v)
				}
				req.Host = "shop.example"
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var got struct {
					Header http.Header
					Host   string
				}
				if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
					t.Fatal(err)
				}
				check := func(name, got, want string) {
					if got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
				check("X-Forwarded-For", strings.Join(got.Header["X-Forwarded-For"], ","), tc.wantXFF)
				check("X-Forwarded-Proto", strings.Join(got.Header["X-Forwarded-Proto"], ","), "http")
				check("X-Forwarded-Port", strings.Join(got.Header["X-Forwarded-Port"], ","), port)
				check("Host", got.Host, "shop.example")
				if tid := got.Header.Get("X-Amzn-Trace-Id"); !traceRoot.MatchString(strings.TrimPrefix(tid, "Root=")) {
					t.Errorf("X-Amzn-Trace-Id = %q, want Root=1-<8 hex>-<24 hex>", tid)
				}
			})
		}
	})
}
