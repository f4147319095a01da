package app

import (
	"net/http"
	"strings"
	"testing"
)

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

// TestRoutes sends every route good and bad input and checks the status,
// the Allow header of 405s, and the body: JSON {"error": ...} with the
// given text on /api/, a page with it elsewhere.
func TestRoutes(t *testing.T) {
	srv := serve(t, "app-1", newMemoryStore(t, nil))
	long := strings.Repeat("x", 65)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantAllow   string
		wantText    string // in the error message or the body
	}{
		{"page", "GET", "/", "", "", 200, "", "served by"},
		{"api session", "GET", "/api/session", "", "", 200, "", `"instance":"app-1"`},
		{"api login", "POST", "/api/login", jsonType, `{"username":"ada"}`, 200, "", `"user":"ada"`},
		{"api login trims", "POST", "/api/login", jsonType, `{"username":"  ada  "}`, 200, "", `"user":"ada"`},
		{"api login unicode", "POST", "/api/login", jsonType, `{"username":"Zoë 李"}`, 200, "", `"user":"Zoë 李"`},
		{"api login charset param", "POST", "/api/login", "application/json; charset=utf-8", `{"username":"ada"}`, 200, "", `"logged_in":true`},
		{"api login 64 chars", "POST", "/api/login", jsonType, `{"username":"` + long[:64] + `"}`, 200, "", long[:64]},
		{"api login empty", "POST", "/api/login", jsonType, `{"username":""}`, 400, "", "username must not be empty"},
		{"api login missing field", "POST", "/api/login", jsonType, `{}`, 400, "", "username must not be empty"},
		{"api login blank", "POST", "/api/login", jsonType, `{"username":" \t "}`, 400, "", "username must not be empty"},
		{"api login too long", "POST", "/api/login", jsonType, `{"username":"` + long + `"}`, 400, "", "at most 64 characters, got 65"},
		{"api login control char", "POST", "/api/login", jsonType, `{"username":"a\u0007b"}`, 400, "", "printable"},
		{"api login newline inside", "POST", "/api/login", jsonType, `{"username":"a\nb"}`, 400, "", "printable"},
		{"api login invalid utf8", "POST", "/api/login", jsonType, "{\"username\":\"a\xffb\"}", 400, "", "body must be valid UTF-8"},
		{"api login number", "POST", "/api/login", jsonType, `{"username":42}`, 400, "", `field "username" must be a JSON string`},
		{"api login array body", "POST", "/api/login", jsonType, `["ada"]`, 400, "", "must be a JSON object"},
		{"api login malformed", "POST", "/api/login", jsonType, `{"username":`, 400, "", "malformed JSON"},
		{"api login syntax error", "POST", "/api/login", jsonType, `{"username" "ada"}`, 400, "", "malformed JSON at byte"},
		{"api login unknown field", "POST", "/api/login", jsonType, `{"username":"ada","admin":true}`, 400, "", `unknown field "admin"`},
		{"api login two objects", "POST", "/api/login", jsonType, `{"username":"ada"}{"username":"bob"}`, 400, "", "single JSON object"},
		{"api login empty body", "POST", "/api/login", jsonType, ``, 400, "", "body is empty"},
		{"api login too big", "POST", "/api/login", jsonType, `{"username":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, "", "too large"},
		{"api login form type", "POST", "/api/login", formType, `username=ada`, 415, "", "Content-Type must be application/json"},
		{"api login no type", "POST", "/api/login", "", `{"username":"ada"}`, 415, "", "Content-Type must be application/json"},
		{"api login GET", "GET", "/api/login", "", "", 405, "POST", "method GET not allowed"},
		{"api cart", "POST", "/api/cart", jsonType, `{"item":"apple"}`, 200, "", `"cart":["apple"]`},
		{"api cart view", "GET", "/api/cart", "", "", 200, "", `"cart":[]`},
		{"api cart empty", "POST", "/api/cart", jsonType, `{"item":""}`, 400, "", "item must not be empty"},
		{"api cart too long", "POST", "/api/cart", jsonType, `{"item":"` + long + `"}`, 400, "", "item must be at most 64 characters"},
		{"api cart unknown field", "POST", "/api/cart", jsonType, `{"item":"a","qty":2}`, 400, "", `unknown field "qty"`},
		{"api cart text type", "POST", "/api/cart", "text/plain", `{"item":"a"}`, 415, "", "Content-Type must be application/json"},
		{"api logout", "POST", "/api/logout", "", "", 200, "", `"logged_in":false`},
		{"api logout empty object", "POST", "/api/logout", jsonType, `{}`, 200, "", `"logged_in":false`},
		{"api logout unknown field", "POST", "/api/logout", jsonType, `{"all":true}`, 400, "", `unknown field "all"`},
		{"api logout DELETE", "DELETE", "/api/logout", "", "", 405, "POST", "not allowed"},
		{"api session POST", "POST", "/api/session", jsonType, `{}`, 405, "GET, HEAD", "method POST not allowed"},
		{"api session HEAD", "HEAD", "/api/session", "", "", 200, "", ""},
		{"api unknown", "GET", "/api/nothing", "", "", 404, "", "not found"},
		{"form login", "POST", "/login", formType, "username=ada", 303, "", ""},
		{"form login empty", "POST", "/login", formType, "username=", 400, "", "username must not be empty"},
		{"form login missing", "POST", "/login", formType, "", 400, "", "username must not be empty"},
		{"form login too long", "POST", "/login", formType, "username=" + long, 400, "", "at most 64 characters"},
		{"form login invalid utf8", "POST", "/login", formType, "username=a%FFb", 400, "", "username must be valid UTF-8"},
		{"form login malformed", "POST", "/login", formType, "username=%zz", 400, "", "malformed form data"},
		{"form login too big", "POST", "/login", formType, "username=" + strings.Repeat("x", maxBodyBytes), 413, "", "form too large"},
		{"form login json type", "POST", "/login", jsonType, `{"username":"ada"}`, 415, "", "Content-Type must be application/x-www-form-urlencoded"},
		{"form login GET", "GET", "/login", "", "", 405, "POST", "method GET not allowed on /login"},
		{"form cart", "POST", "/cart", formType, "item=pear", 303, "", ""},
		{"form cart empty", "POST", "/cart", formType, "item=+", 400, "", "item must not be empty"},
		{"form logout", "POST", "/logout", formType, "", 303, "", ""},
		{"form logout no type", "POST", "/logout", "", "", 303, "", ""},
		{"page HEAD", "HEAD", "/", "", "", 200, "", ""},
		{"page DELETE", "DELETE", "/", "", "", 405, "GET, HEAD", "method DELETE not allowed on /"},
		{"page unknown", "GET", "/nothing", "", "", 404, "", "not found: /nothing"},
		{"odd method", "BREW", "/", "", "", 405, "GET, HEAD", "method BREW not allowed"},
		{"healthz", "GET", "/healthz", "", "", 200, "", `"status":"ok"`},
		{"healthz HEAD", "HEAD", "/healthz", "", "", 200, "", ""},
		{"healthz POST", "POST", "/healthz", "", "", 405, "GET, HEAD", "not allowed"},
		{"readyz", "GET", "/readyz", "", "", 200, "", `"status":"ready"`},
		{"metrics", "GET", "/metrics", "", "", 200, "", "stickylab_http_requests_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t)
			r := c.do(tt.method, srv.URL+tt.path, tt.contentType, tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("got status %d, want %d; body %s", r.status, tt.wantStatus, r.body)
			}
			if got := r.header.Get(instanceHeaderName); got != "app-1" {
				t.Errorf("got %s %q, want %q", instanceHeaderName, got, "app-1")
			}
			if got := r.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("got Allow %q, want %q", got, tt.wantAllow)
			}
			switch {
			case r.status == http.StatusSeeOther:
				if got := r.header.Get("Location"); got != "/" {
					t.Errorf("got Location %q, want /", got)
				}
			case r.status >= 400 && (strings.HasPrefix(tt.path, "/api/") || tt.path == "/healthz"):
				if msg := errorBody(t, r); !strings.Contains(msg, tt.wantText) {
					t.Errorf("got error %q, want it to contain %q", msg, tt.wantText)
				}
			case r.status >= 400:
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("got Content-Type %q, want an HTML page", ct)
				}
				if !strings.Contains(r.body, htmlEscape(tt.wantText)) || !strings.Contains(r.body, `href="/"`) {
					t.Errorf("got page %s, want it to say %q and link back to /", r.body, tt.wantText)
				}
			default:
				if !strings.Contains(r.body, tt.wantText) {
					t.Errorf("got body %s, want it to contain %q", r.body, tt.wantText)
				}
			}
		})
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
