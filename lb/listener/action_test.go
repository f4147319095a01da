package listener

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestRedirectLocation(t *testing.T) {
	defaults := Redirect{Protocol: "#{protocol}", Host: "#{host}", Port: "#{port}", Path: "/#{path}", Query: "#{query}", StatusCode: 301}
	with := func(change func(*Redirect)) Redirect {
		rd := defaults
		change(&rd)
		return rd
	}
	cases := []struct {
		name   string
		rd     Redirect
		target string
		host   string
		tls    bool
		port   int
		want   string
		status int
	}{
		{name: "HTTP to HTTPS, ALB's usual setup",
			rd:     with(func(r *Redirect) { r.Protocol, r.Port = "HTTPS", "443" }),
			target: "/cart?item=7", host: "shop.example.com", port: 80,
			want: "https://shop.example.com:443/cart?item=7", status: 301},
		{name: "placeholders kept: the port always written",
			rd:     with(func(r *Redirect) { r.Path = "/new/#{path}"; r.StatusCode = 302 }),
			target: "/old/page", host: "example.com:8080", port: 8080,
			want: "http://example.com:8080/new/old/page", status: 302},
		{name: "path placeholder has no leading slash",
			rd:     with(func(r *Redirect) { r.Path = "/#{path}/index.html" }),
			target: "/docs", host: "example.com", port: 80,
			want: "http://example.com:80/docs/index.html", status: 301},
		{name: "root path",
			rd:     with(func(r *Redirect) { r.Host = "www.example.com" }),
			target: "/", host: "example.com", port: 80,
			want: "http://www.example.com:80/", status: 301},
		{name: "empty query leaves no ?",
			rd:     with(func(r *Redirect) { r.Path = "/" }),
			target: "/old", host: "example.com", port: 80,
			want: "http://example.com:80/", status: 301},
		{name: "query built from placeholders",
			rd:     with(func(r *Redirect) { r.Path = "/login"; r.Query = "next=#{path}&from=#{host}&proto=#{protocol}&#{query}" }),
			target: "/account?tab=2", host: "example.com", port: 443, tls: true,
			want: "https://example.com:443/login?next=account&from=example.com&proto=https&tab=2", status: 301},
		{name: "protocol placeholder follows TLS",
			rd:     with(func(r *Redirect) { r.Host = "new.example.com" }),
			target: "/x", host: "old.example.com", port: 8443, tls: true,
			want: "https://new.example.com:8443/x", status: 301},
		{name: "IPv6 host bracketed",
			rd:     with(func(r *Redirect) { r.Path = "/moved" }),
			target: "/x", host: "[::1]:8080", port: 8080,
			want: "http://[::1]:8080/moved", status: 301},
		{name: "escaped path stays escaped",
			rd:     with(func(r *Redirect) { r.Path = "/new/#{path}" }),
			target: "/a%20b", host: "example.com", port: 80,
			want: "http://example.com:80/new/a%20b", status: 301},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			r.Host = tc.host
			r.TLS = nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			got, status := tc.rd.Location(r, tc.port)
			if got != tc.want || status != tc.status {
				t.Errorf("Location: got %s %d, want %s %d", got, status, tc.want, tc.status)
			}
		})
	}
}

func TestFixedResponse(t *testing.T) {
	cases := []struct {
		name, method string
		f            FixedResponse
		wantBody     string
	}{
		{"body", "GET", FixedResponse{StatusCode: 503, ContentType: "application/json", MessageBody: `{"error":"maintenance"}`}, `{"error":"maintenance"}`},
		{"HEAD has no body", "HEAD", FixedResponse{StatusCode: 404, ContentType: "text/plain", MessageBody: "not here"}, ""},
		{"empty body", "GET", FixedResponse{StatusCode: 204, ContentType: "text/plain"}, ""},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		tc.f.ServeHTTP(w, httptest.NewRequest(tc.method, "/", nil))
		if w.Code != tc.f.StatusCode || w.Header().Get("Content-Type") != tc.f.ContentType || w.Body.String() != tc.wantBody {
			t.Errorf("%s: got %d %q %q, want %d %q %q", tc.name, w.Code, w.Header().Get("Content-Type"), w.Body.String(),
				tc.f.StatusCode, tc.f.ContentType, tc.wantBody)
		}
	}
}

func TestActionType(t *testing.T) {
	cases := []struct {
		a    Action
		want string
	}{
		{Action{Forward: &Forward{}}, "forward"},
		{Action{Redirect: &Redirect{}}, "redirect"},
		{Action{FixedResponse: &FixedResponse{}}, "fixed-response"},
		{Action{}, ""},
	}
	for _, tc := range cases {
		if got := tc.a.Type(); got != tc.want {
			t.Errorf("Type: got %q, want %q", got, tc.want)
		}
	}
}
