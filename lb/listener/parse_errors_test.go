package listener

import (
	"errors"
	"strings"
	"testing"
)

// groups ends every document of TestParseErrors: two groups to refer to.
const groups = `
target_groups:
  - {name: web, targets: [http://127.0.0.1:9001]}
  - {name: api, targets: [http://127.0.0.1:9002]}
`

// rule is a listener with one rule of the given conditions and action.
func rule(conditions, action string) string {
	return "listener:\n  default_action: {forward: {target_group: web}}\n  rules:\n    - priority: 1\n      conditions: " +
		conditions + "\n      action: " + action + groups
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.doc))
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse: got %v, want an *Error", err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Parse:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// parseErrorCases are documents with one mistake each and the whole error
// that Parse gives.
func parseErrorCases() []struct{ name, doc, want string } {
	return []struct{ name, doc, want string }{
		{"empty file", "# nothing\n", `x.yaml: the file is empty; want listener and target_groups`},
		{"two documents", "listener: {default_action: {fixed_response: {status_code: 404}}}\n---\nlistener: {}\n", `x.yaml:2:1: a second YAML document; want one (no --- separators)`},
		{"top-level unknown key", "listner: {}\n", `x.yaml:1:1: listner: unknown key; allowed: listener, target_groups`},
		{"no listener", "target_groups: []\n", `x.yaml:1:1: listener: is required: {listen, protocol, default_action, rules, ...}`},
		{"no default action", "listener: {listen: \":8080\"}\n", `x.yaml:1:11: listener.default_action: is required: what to do when no rule matches, e.g. {forward: {target_group: web}}`},
		{"listen without port", "listener: {listen: localhost, default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:20: listener.listen: "localhost" is not allowed; want host:port such as 127.0.0.1:8080 or :8080 (port 0 to 65535)`},
		{"listen as number", "listener: {listen: 8080, default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:20: listener.listen: want a string, got 8080`},
		{"protocol lower case", "listener: {protocol: http, default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:22: listener.protocol: "http" is not allowed; want HTTP or HTTPS`},
		{"http_redirect with HTTP", "listener: {http_redirect: ':80', default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:27: listener.http_redirect: is only allowed with protocol: HTTPS (a plain HTTP listener that redirects to it)`},
		{"http_redirect bad address", "listener: {protocol: HTTPS, certificate: {self_signed: true}, http_redirect: 'x', default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:78: listener.http_redirect: "x" is not allowed; want host:port such as 127.0.0.1:8080 or :8080 (port 0 to 65535)`},
		{"certificate with HTTP", "listener: {certificate: {self_signed: true}, default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:25: listener.certificate: is only allowed with protocol: HTTPS`},
		{"certificate half", "listener: {protocol: HTTPS, certificate: {cert_file: a.pem}, default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:42: listener.certificate: want both cert_file and key_file (PEM), or self_signed: true`},
		{"certificate both", "listener: {protocol: HTTPS, certificate: {cert_file: a.pem, key_file: k.pem, self_signed: true}, default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:91: listener.certificate.self_signed: give either self_signed: true or cert_file and key_file, not both`},
		{"fractional seconds", "listener: {idle_timeout: 1.5s, default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:26: listener.idle_timeout: 1.5s is not whole seconds; want a duration from 1s to 4000s in whole seconds (e.g. 30s, 5m, 1h, 7d, or 300 for seconds)`},
		{"duration word", "listener: {idle_timeout: soon, default_action: {fixed_response: {status_code: 404}}}\n", `x.yaml:1:26: listener.idle_timeout: "soon" is not a duration; want a duration from 1s to 4000s in whole seconds (e.g. 30s, 5m, 1h, 7d, or 300 for seconds)`},
		{"rule without conditions", "listener:\n  default_action: {forward: {target_group: web}}\n  rules:\n    - {priority: 1, action: {forward: {target_group: web}}}\n" + groups, `x.yaml:4:7: listener.rules[0].conditions: is required: at least one of path_pattern, host_header, http_header, http_request_method, query_string, source_ip`},
		{"rule without priority", "listener:\n  default_action: {forward: {target_group: web}}\n  rules:\n    - {conditions: {path_pattern: [/a]}, action: {forward: {target_group: web}}}\n" + groups, `x.yaml:4:7: listener.rules[0].priority: is required: a whole number from 1 to 50000, unique; lower ones are tried first`},
		{"priority 0", "listener:\n  default_action: {forward: {target_group: web}}\n  rules:\n    - {priority: 0, conditions: {path_pattern: [/a]}, action: {forward: {target_group: web}}}\n" + groups, `x.yaml:4:18: listener.rules[0].priority: 0 is not allowed; want a whole number from 1 to 50000`},
		{"empty conditions", rule("{}", "{forward: {target_group: web}}"), `x.yaml:5:19: listener.rules[0].conditions: want at least one condition: path_pattern, host_header, http_header, http_request_method, query_string, source_ip`},
		{"path not a list", rule("{path_pattern: /api/*}", "{forward: {target_group: web}}"), `x.yaml:5:34: listener.rules[0].conditions.path_pattern: want a list of path patterns such as /api/*, got "/api/*"`},
		{"path character", rule("{path_pattern: [\"/a=b\"]}", "{forward: {target_group: web}}"), `x.yaml:5:35: listener.rules[0].conditions.path_pattern[0]: "/a=b" is not allowed; want letters, digits, * ? and _-.$/~"'@:+&`},
		{"path too long", rule("{path_pattern: [/"+strings.Repeat("a", 128)+"]}", "{forward: {target_group: web}}"), `x.yaml:5:35: listener.rules[0].conditions.path_pattern[0]: "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" is not allowed; want 1 to 128 characters`},
		{"six wildcards", rule("{path_pattern: [\"/*/*/*\", \"/?/?/?\"]}", "{forward: {target_group: web}}"), `x.yaml:5:19: listener.rules[0].conditions: 6 wildcards (* and ?); ALB allows at most 5 per rule`},
		{"host without dot", rule("{host_header: [localhost]}", "{forward: {target_group: web}}"), `x.yaml:5:34: listener.rules[0].conditions.host_header[0]: "localhost" is not allowed; want at least one dot and only letters after the last one, as ALB requires (e.g. *.example.com, api.localhost)`},
		{"host digits after dot", rule("{host_header: [\"127.0.0.1\"]}", "{forward: {target_group: web}}"), `x.yaml:5:34: listener.rules[0].conditions.host_header[0]: "127.0.0.1" is not allowed; want at least one dot and only letters after the last one, as ALB requires (e.g. *.example.com, api.localhost)`},
		{"header Host", rule("{http_header: {name: Host, values: [a.example.com]}}", "{forward: {target_group: web}}"), `x.yaml:5:40: listener.rules[0].conditions.http_header.name: use host_header for the Host header (ALB's rule)`},
		{"header name wildcard", rule("{http_header: {name: \"X-*\", values: [a]}}", "{forward: {target_group: web}}"), "x.yaml:5:40: listener.rules[0].conditions.http_header.name: \"X-*\" is not allowed; want a header name of 1 to 40 letters, digits and !#$%&'+-.^_`|~, without wildcards"},
		{"header without values", rule("{http_header: {name: X-A}}", "{forward: {target_group: web}}"), `x.yaml:5:33: listener.rules[0].conditions.http_header.values: is required: a list of values, e.g. ["*Mobile*"]`},
		{"header list item unknown key", rule("{http_header: [{name: X-A, values: [a]}, {name: X-B, value: b}]}", "{forward: {target_group: web}}"), `x.yaml:5:72: listener.rules[0].conditions.http_header[1].value: unknown key; allowed: name, values`},
		{"method lower case", rule("{http_request_method: [get]}", "{forward: {target_group: web}}"), `x.yaml:5:42: listener.rules[0].conditions.http_request_method[0]: "get" is not allowed; want an upper-case method such as GET or POST (A-Z, - and _, at most 40 characters; ALB compares it with case, without wildcards)`},
		{"query without value", rule("{query_string: [{key: a}]}", "{forward: {target_group: web}}"), `x.yaml:5:35: listener.rules[0].conditions.query_string[0].value: is required: the value to find, with wildcards; * matches any value, even an empty one`},
		{"query empty value", rule("{query_string: [{key: a, value: \"\"}]}", "{forward: {target_group: web}}"), `x.yaml:5:51: listener.rules[0].conditions.query_string[0].value: "" is not allowed; want 1 to 128 characters (* matches an empty value)`},
		{"source IP without mask", rule("{source_ip: [10.0.0.1]}", "{forward: {target_group: web}}"), `x.yaml:5:32: listener.rules[0].conditions.source_ip[0]: "10.0.0.1" is not allowed; want a CIDR block such as 192.0.2.0/24 or 2001:db8::/32 (one address is /32 for IPv4, /128 for IPv6)`},
		{"source IP bad", rule("{source_ip: [10.0.0.0/33]}", "{forward: {target_group: web}}"), `x.yaml:5:32: listener.rules[0].conditions.source_ip[0]: "10.0.0.0/33" is not allowed; want a CIDR block such as 192.0.2.0/24 or 2001:db8::/32`},
		{"unknown condition", rule("{path: [/a]}", "{forward: {target_group: web}}"), `x.yaml:5:20: listener.rules[0].conditions.path: unknown key; allowed: path_pattern, host_header, http_header, http_request_method, query_string, source_ip`},
		{"two actions", rule("{path_pattern: [/a]}", "{forward: {target_group: web}, fixed_response: {status_code: 404}}"), `x.yaml:6:62: listener.rules[0].action.fixed_response: an action is one of forward, redirect or fixed_response; this one is already forward`},
		{"no action type", rule("{path_pattern: [/a]}", "{}"), `x.yaml:6:15: listener.rules[0].action: want one of forward, redirect or fixed_response`},
		{"action type key", rule("{path_pattern: [/a]}", "{type: forward}"), `x.yaml:6:16: listener.rules[0].action.type: unknown key; allowed: forward, redirect, fixed_response; the action's type is its key, forward, redirect or fixed_response`},
		{"forward both forms", rule("{path_pattern: [/a]}", "{forward: {target_group: web, target_groups: [{name: api}]}}"), `x.yaml:6:60: listener.rules[0].action.forward.target_groups: give either target_group or target_groups, not both`},
		{"forward nothing", rule("{path_pattern: [/a]}", "{forward: {}}"), `x.yaml:6:25: listener.rules[0].action.forward.target_group: is required: a target group's name, or target_groups: [{name, weight}, ...]`},
		{"stickiness with one group", rule("{path_pattern: [/a]}", "{forward: {target_group: web, stickiness: {duration: 1h}}}"), `x.yaml:6:57: listener.rules[0].action.forward.stickiness: group stickiness needs target_groups: [{name, weight}, ...]`},
		{"group twice", rule("{path_pattern: [/a]}", "{forward: {target_groups: [{name: web}, {name: web}]}}"), `x.yaml:6:55: listener.rules[0].action.forward.target_groups[1]: "web" is already listener.rules[0].action.forward.target_groups[0]; each group once`},
		{"all weights 0", rule("{path_pattern: [/a]}", "{forward: {target_groups: [{name: web, weight: 0}, {name: api, weight: 0}]}}"), `x.yaml:6:41: listener.rules[0].action.forward.target_groups: every weight is 0: the forward could send no request; give one group a weight from 1 to 999`},
		{"negative weight", rule("{path_pattern: [/a]}", "{forward: {target_groups: [{name: web, weight: -1}, {name: api}]}}"), `x.yaml:6:62: listener.rules[0].action.forward.target_groups[0].weight: -1 is not allowed; want a whole number from 0 to 999`},
		{"group stickiness 8d", rule("{path_pattern: [/a]}", "{forward: {target_groups: [{name: web}, {name: api}], stickiness: {duration: 8d}}}"), `x.yaml:6:92: listener.rules[0].action.forward.stickiness.duration: 8d is out of range; want a duration from 1s to 7d in whole seconds (e.g. 30s, 5m, 1h, 7d, or 300 for seconds)`},
		{"redirect without status", rule("{path_pattern: [/a]}", "{redirect: {path: /b}}"), `x.yaml:6:26: listener.rules[0].action.redirect.status_code: is required: HTTP_301 or HTTP_302`},
		{"redirect status 307", rule("{path_pattern: [/a]}", "{redirect: {path: /b, status_code: HTTP_307}}"), `x.yaml:6:50: listener.rules[0].action.redirect.status_code: "HTTP_307" is not allowed; want HTTP_301 or HTTP_302`},
		{"redirect relative path", rule("{path_pattern: [/a]}", "{redirect: {path: b, status_code: HTTP_301}}"), `x.yaml:6:33: listener.rules[0].action.redirect.path: "b" is not allowed; want an absolute path starting with / (placeholders allowed, e.g. /new/#{path})`},
		{"redirect port 0", rule("{path_pattern: [/a]}", "{redirect: {port: 0, status_code: HTTP_301}}"), `x.yaml:6:33: listener.rules[0].action.redirect.port: "0" is not allowed; want a port from 1 to 65535 or #{port}`},
		{"redirect query with ?", rule("{path_pattern: [/a]}", "{redirect: {path: /b, query: \"?a=1\", status_code: HTTP_301}}"), `x.yaml:6:44: listener.rules[0].action.redirect.query: "?a=1" is not allowed; want the query without its leading ?`},
		{"redirect placeholder misplaced", rule("{path_pattern: [/a]}", "{redirect: {host: \"#{path}.example.com\", status_code: HTTP_301}}"), `x.yaml:6:33: listener.rules[0].action.redirect.host: #{path} cannot be used in host; ALB allows #{protocol} in protocol and query, #{host} in host, path and query, #{port} in port, path and query, #{path} in path and query, #{query} in query`},
		{"redirect unknown placeholder", rule("{path_pattern: [/a]}", "{redirect: {path: \"/#{uri}\", status_code: HTTP_301}}"), `x.yaml:6:33: listener.rules[0].action.redirect.path: #{uri} cannot be used in path; ALB allows #{protocol} in protocol and query, #{host} in host, path and query, #{port} in port, path and query, #{path} in path and query, #{query} in query`},
		{"redirect protocol lower case", rule("{path_pattern: [/a]}", "{redirect: {protocol: https, status_code: HTTP_301}}"), `x.yaml:6:37: listener.rules[0].action.redirect.protocol: "https" is not allowed; want HTTP, HTTPS or #{protocol}`},
		{"fixed status 302", rule("{path_pattern: [/a]}", "{fixed_response: {status_code: 302}}"), `x.yaml:6:46: listener.rules[0].action.fixed_response.status_code: 302 is not allowed; want a 2XX, 4XX or 5XX code (use a redirect for 3XX)`},
		{"fixed status 600", rule("{path_pattern: [/a]}", "{fixed_response: {status_code: 600}}"), `x.yaml:6:46: listener.rules[0].action.fixed_response.status_code: 600 is not allowed; want a whole number from 200 to 599`},
		{"fixed content type", rule("{path_pattern: [/a]}", "{fixed_response: {status_code: 200, content_type: text/xml}}"), `x.yaml:6:65: listener.rules[0].action.fixed_response.content_type: "text/xml" is not allowed; want text/plain, text/css, text/html, application/javascript or application/json`},
		{"fixed body too long", rule("{path_pattern: [/a]}", "{fixed_response: {status_code: 200, message_body: "+strings.Repeat("x", 1025)+"}}"), `x.yaml:6:65: listener.rules[0].action.fixed_response.message_body: is 1025 bytes; ALB allows at most 1024`},
		{"fixed without status", rule("{path_pattern: [/a]}", "{fixed_response: {message_body: hi}}"), `x.yaml:6:32: listener.rules[0].action.fixed_response.status_code: is required: a 2XX, 4XX or 5XX code, e.g. 404`},
		{"too many rules", "listener:\n  default_action: {forward: {target_group: web}}\n  rules:\n" + strings.Repeat("    - {priority: 1, conditions: {path_pattern: [/a]}, action: {forward: {target_group: web}}}\n", 101) + groups, `x.yaml:4:5: listener.rules: 101 rules; ALB allows at most 100 besides the default action`},
		{"group name", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: -web, targets: []}]\n", `x.yaml:2:24: target_groups[0].name: "-web" is not allowed; want 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen`},
		{"group name twice", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: []}, {name: web, targets: []}]\n", `x.yaml:2:50: target_groups[1].name: "web" is already the name of target_groups[0]; names must be unique`},
		{"group without targets key", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web}]\n", `x.yaml:2:17: target_groups[0].targets: is required: a list of [name=]URL, e.g. [app-1=http://127.0.0.1:9001]`},
		{"target with path", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [http://a:1/x]}]\n", `x.yaml:2:39: target_groups[0].targets[0]: "http://a:1/x": the URL must be scheme://host[:port] only, without path, query or user`},
		{"target name twice", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [a=http://a:1, a=http://b:1]}]\n", `x.yaml:2:53: target_groups[0].targets[1]: the name "a" is already target_groups[0].targets[0]'s; target names must be unique in a group`},
		{"algorithm", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], algorithm: random}]\n", `x.yaml:2:53: target_groups[0].algorithm: "random" is not allowed; want round_robin, least_outstanding_requests or weighted_random`},
		{"anomaly mitigation with round robin", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], anomaly_mitigation: true}]\n", `x.yaml:2:62: target_groups[0].anomaly_mitigation: is only allowed with algorithm: weighted_random (ALB's rule)`},
		{"anomaly mitigation on", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], anomaly_mitigation: on, algorithm: weighted_random}]\n", `x.yaml:2:62: target_groups[0].anomaly_mitigation: want true or false, got "on"`},
		{"slow start 10s", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], slow_start: 10s}]\n", `x.yaml:2:54: target_groups[0].slow_start: 10s is out of range; want 0 (off) or 30s to 900s`},
		{"deregistration delay 2h", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], deregistration_delay: 2h}]\n", `x.yaml:2:64: target_groups[0].deregistration_delay: 2h is out of range; want a duration from 0s to 3600s in whole seconds (e.g. 30s, 5m, 1h, 7d, or 300 for seconds)`},
		{"stickiness without type", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], stickiness: {duration: 1h}}]\n", `x.yaml:2:54: target_groups[0].stickiness.type: is required: lb_cookie or app_cookie (or enabled: false)`},
		{"app cookie without name", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], stickiness: {type: app_cookie}}]\n", `x.yaml:2:54: target_groups[0].stickiness.cookie_name: is required: the application's cookie that app_cookie stickiness follows`},
		{"cookie name with lb cookie", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], stickiness: {type: lb_cookie, cookie_name: s}}]\n", `x.yaml:2:85: target_groups[0].stickiness.cookie_name: is only allowed with type: app_cookie`},
		{"cookie name not a token", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], stickiness: {type: app_cookie, cookie_name: \"a b\"}}]\n", "x.yaml:2:86: target_groups[0].stickiness.cookie_name: \"a b\" is not a cookie name; want 1 to 128 letters, digits and !#$%&'*+-.^_`|~"},
		{"sticky duration 0", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], stickiness: {type: lb_cookie, duration: 0}}]\n", `x.yaml:2:82: target_groups[0].stickiness.duration: 0 is out of range; want a duration from 1s to 7d in whole seconds (e.g. 30s, 5m, 1h, 7d, or 300 for seconds)`},
		{"health interval 1s", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], health_check: {interval: 1s}}]\n", `x.yaml:2:67: target_groups[0].health_check.interval: 1s is out of range; want a duration from 5s to 300s in whole seconds (e.g. 30s, 5m, 1h, 7d, or 300 for seconds)`},
		{"health timeout default vs interval", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], health_check: {timeout: 5s}}]\n", `x.yaml:2:66: target_groups[0].health_check.timeout: 5s must be shorter than the interval 5s (ALB's rule)`},
		{"healthy threshold 1", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], health_check: {healthy_threshold: 1}}]\n", `x.yaml:2:76: target_groups[0].health_check.healthy_threshold: 1 is not allowed; want a whole number from 2 to 10`},
		{"health path", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], health_check: {path: healthz}}]\n", `x.yaml:2:63: target_groups[0].health_check.path: "healthz" is not allowed; want a path starting with / (at most 1024 characters)`},
		{"health enabled (Terraform)", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], health_check: {enabled: true}}]\n", `x.yaml:2:57: target_groups[0].health_check.enabled: unknown key; allowed: path, interval, timeout, healthy_threshold, unhealthy_threshold, matcher; health checks are always on`},
		{"percentage 0", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], unhealthy_state_routing: {minimum_healthy_targets_percentage: 0}}]\n", `x.yaml:2:104: target_groups[0].unhealthy_state_routing.minimum_healthy_targets_percentage: 0 is not allowed; want a whole number from 1 to 100, or "off"`},
		{"count 0", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], unhealthy_state_routing: {minimum_healthy_targets_count: 0}}]\n", `x.yaml:2:99: target_groups[0].unhealthy_state_routing.minimum_healthy_targets_count: 0 is not allowed; want a whole number of targets, at least 1`},
		{"Terraform algorithm name", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], load_balancing_algorithm_type: round_robin}]\n", `x.yaml:2:42: target_groups[0].load_balancing_algorithm_type: unknown key; allowed: name, targets, algorithm, anomaly_mitigation, slow_start, deregistration_delay, stickiness, health_check, unhealthy_state_routing; did you mean algorithm?`},
		{"target group port (Terraform)", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: [{name: web, targets: [], port: 80}]\n", "x.yaml:2:42: target_groups[0].port: unknown key; allowed: name, targets, algorithm, anomaly_mitigation, slow_start, deregistration_delay, stickiness, health_check, unhealthy_state_routing; each target's URL has its port"},
		{"listener port (Terraform)", "listener: {port: 80, default_action: {fixed_response: {status_code: 404}}}\n", "x.yaml:1:12: listener.port: unknown key; allowed: listen, protocol, certificate, http_redirect, idle_timeout, default_action, rules; the port is in listen: host:port"},
		{"group stickiness type", rule("{path_pattern: [/a]}", "{forward: {target_groups: [{name: web}, {name: api}], stickiness: {type: lb_cookie, duration: 1h}}}"), "x.yaml:6:82: listener.rules[0].action.forward.stickiness.type: unknown key; allowed: enabled, duration"},
		{"target groups not a list", "listener: {default_action: {fixed_response: {status_code: 404}}}\ntarget_groups: {name: web}\n", `x.yaml:2:16: target_groups: want a list of target groups {name, targets, ...}, got a mapping`},
	}
}
