package app

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"stickylab/internal/palette"
)

func TestPage(t *testing.T) {
	memory := serve(t, "app-2", newMemoryStore(t, nil))
	shared := serve(t, "app-3", newRedisStore(t, miniredis.RunT(t).Addr()))

	tests := []struct {
		name     string
		srv      *testServer
		setup    func(c *client, base string)
		want     []string
		dontWant []string
	}{
		{"memory, logged out", memory, func(*client, string) {}, []string{
			"served by", `<h1 class="instance">app-2</h1>`, "--instance:" + palette.Color("app-2"),
			"sessions in this instance's memory", `action="/login"`, "Not logged in.",
			"Empty.", `<p class="big">1</p>`, "kill <strong>app-2</strong> and reload",
		}, []string{"shared Redis", `action="/logout"`}},
		{"redis, logged in with a cart", shared, func(c *client, base string) {
			c.postJSON(base+"/api/login", `{"username":"ada"}`, 200)
			c.postJSON(base+"/api/cart", `{"item":"<script>alert(1)</script>"}`, 200)
			c.postJSON(base+"/api/cart", `{"item":"tea & cake"}`, 200)
			c.do("GET", base+"/", "", "")
		}, []string{
			`<h1 class="instance">app-3</h1>`, "--instance:" + palette.Color("app-3"), "sessions in shared Redis",
			"logged in as <strong>ada</strong>", `action="/logout"`, `<span class="count">2</span>`,
			"<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>", "<li>tea &amp; cake</li>",
			`<p class="big">2</p>`, "the session lives in Redis",
		}, []string{"<script>", "instance's memory", `action="/login"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t)
			tt.setup(c, tt.srv.URL)
			r := c.do("GET", tt.srv.URL+"/", "", "")
			if r.status != 200 {
				t.Fatalf("got status %d, want 200", r.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(r.body, w) {
					t.Errorf("page holds %q, want it absent", w)
				}
			}
			if t.Failed() {
				t.Logf("page:\n%s", r.body)
			}
		})
	}
}

// TestPageSecurityHeaders checks that the page allows its inline style by
// hash and nothing else, and that it is never cached.
func TestPageSecurityHeaders(t *testing.T) {
	srv := serve(t, "app-1", newMemoryStore(t, nil))
	for _, path := range []string{"/", "/nothing"} {
		t.Run(path, func(t *testing.T) {
			r := newClient(t).do("GET", srv.URL+path, "", "")
			m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(r.body)
			if m == nil {
				t.Fatalf("no <style> in the page:\n%s", r.body)
			}
			sum := sha256.Sum256([]byte(m[1]))
			csp := r.header.Get("Content-Security-Policy")
			if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
				t.Errorf("got CSP %q, want it to contain %q", csp, want)
			}
			if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") {
				t.Errorf("got CSP %q, want default-src 'none' and form-action 'self'", csp)
			}
			for h, want := range map[string]string{
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
				"Content-Type":           "text/html; charset=utf-8",
			} {
				if got := r.header.Get(h); got != want {
					t.Errorf("got %s %q, want %q", h, got, want)
				}
			}
		})
	}
}
