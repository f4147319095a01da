package listener

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

var client = netip.MustParseAddr("192.0.2.10")

func TestConditionsMatch(t *testing.T) {
	cases := []struct {
		name   string
		c      Conditions
		method string
		target string // request target: path and query, or an absolute URL
		host   string
		header map[string][]string
		from   netip.Addr
		want   bool
	}{
		// path_pattern: the path only, with case, decoded.
		{name: "path prefix", c: Conditions{PathPattern: []string{"/api/*"}}, target: "/api/users/7", want: true},
		{name: "path ignores the query", c: Conditions{PathPattern: []string{"/api"}}, target: "/api?x=/api/", want: true},
		{name: "path query not matched", c: Conditions{PathPattern: []string{"*x=1*"}}, target: "/a?x=1", want: false},
		{name: "path with case", c: Conditions{PathPattern: []string{"/API/*"}}, target: "/api/x", want: false},
		{name: "path root by /*", c: Conditions{PathPattern: []string{"/*"}}, target: "/", want: true},
		{name: "path values OR'd", c: Conditions{PathPattern: []string{"/a", "/b"}}, target: "/b", want: true},
		{name: "path decoded", c: Conditions{PathPattern: []string{"/a b"}}, target: "/a%20b", want: true},
		{name: "path of absolute-form without path", c: Conditions{PathPattern: []string{"/"}}, target: "http://example.com", want: true},

		// host_header: without case, port ignored.
		{name: "host wildcard", c: Conditions{HostHeader: []string{"*.example.com"}}, host: "api.example.com", want: true},
		{name: "host without case", c: Conditions{HostHeader: []string{"api.example.com"}}, host: "API.Example.COM", want: true},
		{name: "host port ignored", c: Conditions{HostHeader: []string{"api.localhost"}}, host: "api.localhost:8080", want: true},
		{name: "host wildcard needs the dot", c: Conditions{HostHeader: []string{"*.example.com"}}, host: "example.com", want: false},
		{name: "host other", c: Conditions{HostHeader: []string{"api.example.com"}}, host: "www.example.com", want: false},

		// http_header: name and values without case, values with wildcards.
		{name: "header value", c: Conditions{HTTPHeader: []HeaderCondition{{Name: "user-agent", Values: []string{"*mobile*"}}}},
			header: map[string][]string{"User-Agent": {"Foo Mobile Safari"}}, want: true},
		{name: "header absent", c: Conditions{HTTPHeader: []HeaderCondition{{Name: "X-Canary", Values: []string{"*"}}}}, want: false},
		{name: "header repeated, second matches", c: Conditions{HTTPHeader: []HeaderCondition{{Name: "X-Env", Values: []string{"beta"}}}},
			header: map[string][]string{"X-Env": {"prod", "BETA"}}, want: true},
		{name: "headers AND'd", c: Conditions{HTTPHeader: []HeaderCondition{{Name: "A", Values: []string{"1"}}, {Name: "B", Values: []string{"2"}}}},
			header: map[string][]string{"A": {"1"}, "B": {"3"}}, want: false},
		{name: "header empty value by star", c: Conditions{HTTPHeader: []HeaderCondition{{Name: "X-Empty", Values: []string{"*"}}}},
			header: map[string][]string{"X-Empty": {""}}, want: true},

		// http_request_method: exact, with case.
		{name: "method", c: Conditions{HTTPRequestMethod: []string{"GET", "HEAD"}}, method: "HEAD", want: true},
		{name: "method with case", c: Conditions{HTTPRequestMethod: []string{"GET"}}, method: "get", want: false},
		{name: "method other", c: Conditions{HTTPRequestMethod: []string{"GET"}}, method: "POST", want: false},

		// query_string: pairs OR'd, key optional, without case, decoded.
		{name: "query pair", c: Conditions{QueryString: []QueryPair{{Key: "version", Value: "v1"}}}, target: "/?a=b&version=V1", want: true},
		{name: "query key optional", c: Conditions{QueryString: []QueryPair{{Value: "beta"}}}, target: "/?channel=beta", want: true},
		{name: "query value wildcard", c: Conditions{QueryString: []QueryPair{{Key: "lang", Value: "en-*"}}}, target: "/?lang=en-GB", want: true},
		{name: "query empty value matched by star", c: Conditions{QueryString: []QueryPair{{Key: "debug", Value: "*"}}}, target: "/?debug=", want: true},
		{name: "query key without = matched by star", c: Conditions{QueryString: []QueryPair{{Key: "debug", Value: "*"}}}, target: "/?debug", want: true},
		{name: "query empty value not matched by literal", c: Conditions{QueryString: []QueryPair{{Key: "debug", Value: "1"}}}, target: "/?debug=", want: false},
		{name: "query decoded", c: Conditions{QueryString: []QueryPair{{Key: "q", Value: "a b"}}}, target: "/?q=a%20b", want: true},
		{name: "query literal star", c: Conditions{QueryString: []QueryPair{{Key: "q", Value: `\*`}}}, target: "/?q=x", want: false},
		{name: "query pairs OR'd", c: Conditions{QueryString: []QueryPair{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}}, target: "/?b=2", want: true},
		{name: "query none", c: Conditions{QueryString: []QueryPair{{Key: "a", Value: "*"}}}, target: "/", want: false},
		{name: "query malformed escape compared as sent", c: Conditions{QueryString: []QueryPair{{Key: "a", Value: "%zz"}}}, target: "/?a=%zz", want: true},

		// source_ip: CIDRs, IPv4 and IPv6, IPv4-mapped addresses unmapped.
		{name: "source IPv4", c: Conditions{SourceIP: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, want: true},
		{name: "source IPv4 outside", c: Conditions{SourceIP: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}, want: false},
		{name: "source IPv6", c: Conditions{SourceIP: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}}, from: netip.MustParseAddr("2001:db8::1"), want: true},
		{name: "source IPv6 outside", c: Conditions{SourceIP: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}}, from: netip.MustParseAddr("2001:db9::1"), want: false},
		{name: "source IPv4-mapped IPv6", c: Conditions{SourceIP: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, from: netip.MustParseAddr("::ffff:192.0.2.10"), want: true},

		// Different conditions are AND'd.
		{name: "path and method", c: Conditions{PathPattern: []string{"/api/*"}, HTTPRequestMethod: []string{"POST"}}, target: "/api/x", method: "GET", want: false},
		{name: "path and host", c: Conditions{PathPattern: []string{"/api/*"}, HostHeader: []string{"*.example.com"}}, target: "/api/x", host: "a.example.com", want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target, method, from := tc.target, tc.method, tc.from
			if target == "" {
				target = "/"
			}
			if method == "" {
				method = "GET"
			}
			if !from.IsValid() {
				from = client
			}
			r := httptest.NewRequest(method, target, nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			for k, vs := range tc.header {
				r.Header[k] = vs
			}
			if got := tc.c.Match(r, from); got != tc.want {
				t.Errorf("Match(%s %s, Host %s, from %s): got %v, want %v", method, target, r.Host, from, got, tc.want)
			}
		})
	}
}

// TestListenerMatch checks that rules are tried by priority, lowest first
// whatever their order in the file, and that the default action comes last.
func TestListenerMatch(t *testing.T) {
	c, err := Parse("rules.yaml", []byte(`
listener:
  default_action: {forward: {target_group: web}}
  rules:
    - priority: 200
      conditions: {path_pattern: ["/*"], http_request_method: [POST]}
      action: {fixed_response: {status_code: 405}}
    - priority: 5
      conditions: {path_pattern: ["/api/*"]}
      action: {forward: {target_group: api}}
    - priority: 100
      conditions: {source_ip: ["2001:db8::/32", "10.0.0.0/8"]}
      action: {fixed_response: {status_code: 403, message_body: "internal only"}}
target_groups:
  - {name: web, targets: [http://127.0.0.1:9001]}
  - {name: api, targets: [http://127.0.0.1:9002]}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, target, from string
		priority                   int
		action                     string
	}{
		{"api", "POST", "/api/x", "192.0.2.1", 5, "api:1"},
		{"internal address", "POST", "/page", "10.1.2.3", 100, "fixed-response"},
		{"internal IPv6 address", "GET", "/page", "2001:db8::5", 100, "fixed-response"},
		{"post elsewhere", "POST", "/page", "192.0.2.1", 200, "fixed-response"},
		{"default", "GET", "/page", "192.0.2.1", 0, "web:1"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		a, priority := c.Listener.Match(r, netip.MustParseAddr(tc.from))
		if priority != tc.priority || forwardNames(*a) != tc.action {
			t.Errorf("%s: Match: got rule %d %s, want rule %d %s", tc.name, priority, forwardNames(*a), tc.priority, tc.action)
		}
	}
}
