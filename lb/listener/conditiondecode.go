package listener

import (
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ALB's quotas on a rule's conditions (the ALB user guide's quotas page):
// condition values and wildcards counted over the whole rule.
const (
	MaxConditionValues = 5
	MaxWildcards       = 5
	maxValueLength     = 128 // every condition value
	maxHeaderName      = 40
	maxMethodLength    = 40
)

// Characters ALB allows in condition values, besides letters and digits.
const (
	pathChars   = "_-.$/~\"'@:+&*?"
	hostChars   = "-_.*?"
	methodChars = "-_"
	tokenChars  = "!#$%&'*+-.^_`|~" // RFC 9110 token, for header names
)

var conditionKeys = []string{"path_pattern", "host_header", "http_header", "http_request_method", "query_string", "source_ip"}

// conditions decodes a rule's conditions and checks ALB's per-rule quotas.
func (d *decoder) conditions(n *yaml.Node, field string) (Conditions, error) {
	var c Conditions
	values, stars := 0, 0
	count := func(patterns ...string) {
		values++
		for _, p := range patterns {
			stars += wildcards(p)
		}
	}
	err := d.fields(n, field, conditionKeys, func(key string, v *yaml.Node) error {
		f := join(field, key)
		var err error
		switch key {
		case "path_pattern":
			c.PathPattern, err = d.patterns(v, f, "path patterns such as /api/*", func(s string) string {
				return allowed(s, pathChars, "letters, digits, * ? and "+pathChars[:len(pathChars)-2])
			})
			for _, p := range c.PathPattern {
				count(p)
			}
		case "host_header":
			c.HostHeader, err = d.patterns(v, f, "host names such as *.example.com", validHost)
			for _, p := range c.HostHeader {
				count(p)
			}
		case "http_header":
			c.HTTPHeader, err = d.headerConditions(v, f)
			for _, h := range c.HTTPHeader {
				for _, p := range h.Values {
					count(p)
				}
			}
		case "http_request_method":
			c.HTTPRequestMethod, err = d.patterns(v, f, "methods such as GET", func(s string) string {
				if len(s) > maxMethodLength || strings.ContainsFunc(s, func(r rune) bool {
					return !('A' <= r && r <= 'Z') && !strings.ContainsRune(methodChars, r)
				}) {
					return "want an upper-case method such as GET or POST (A-Z, - and _, at most 40 characters; ALB compares it with case, without wildcards)"
				}
				return ""
			})
			values += len(c.HTTPRequestMethod)
		case "query_string":
			c.QueryString, err = d.queryPairs(v, f)
			for _, q := range c.QueryString {
				count(q.Key, q.Value)
			}
		case "source_ip":
			c.SourceIP, err = d.sourceIPs(v, f)
			values += len(c.SourceIP)
		}
		return err
	})
	switch {
	case err != nil:
		return Conditions{}, err
	case values == 0:
		return Conditions{}, d.fail(resolve(n), field, "want at least one condition: %s", strings.Join(conditionKeys, ", "))
	case values > MaxConditionValues:
		return Conditions{}, d.fail(resolve(n), field, "%d condition values; ALB allows at most %d per rule", values, MaxConditionValues)
	case stars > MaxWildcards:
		return Conditions{}, d.fail(resolve(n), field, "%d wildcards (* and ?); ALB allows at most %d per rule", stars, MaxWildcards)
	}
	return c, nil
}

// patterns reads a non-empty list of condition values, each at most 128
// characters; check returns what is wrong with one, or "".
func (d *decoder) patterns(v *yaml.Node, field, want string, check func(string) string) ([]string, error) {
	vals, nodes, err := d.strs(v, field, want)
	if err != nil {
		return nil, err
	}
	for i, s := range vals {
		problem := ""
		switch {
		case s == "" || len(s) > maxValueLength:
			problem = "want 1 to 128 characters"
		case check != nil:
			problem = check(s)
		}
		if problem != "" {
			return nil, d.fail(nodes[i], index(field, i), "%q is not allowed; %s", s, problem)
		}
	}
	return vals, nil
}

// allowed checks that s has only letters, digits and extra.
func allowed(s, extra, what string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !isAlnum(r) && !strings.ContainsRune(extra, r) }) {
		return "want " + what
	}
	return ""
}

// validHost applies ALB's rules for host-header values: letters, digits,
// - _ . and wildcards, at least one dot, and only letters after the last.
func validHost(s string) string {
	if p := allowed(s, hostChars, "letters, digits, - _ . * and ?"); p != "" {
		return p
	}
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 || dot == len(s)-1 || strings.ContainsFunc(s[dot+1:], func(r rune) bool { return !isLetter(r) }) {
		return "want at least one dot and only letters after the last one, as ALB requires (e.g. *.example.com, api.localhost)"
	}
	return ""
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

var headerKeys = []string{"name", "values"}

// headerConditions reads one http_header condition {name, values}, or a
// list of them, each on its own header and all AND'd.
func (d *decoder) headerConditions(v *yaml.Node, field string) ([]HeaderCondition, error) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items, _ = d.list(v, field, "")
	}
	out := make([]HeaderCondition, 0, len(items))
	for i, item := range items {
		f := field
		if v.Kind == yaml.SequenceNode {
			f = index(field, i)
		}
		var h HeaderCondition
		err := d.fields(item, f, headerKeys, func(key string, v *yaml.Node) error {
			var err error
			switch key {
			case "name":
				h.Name, err = d.headerName(v, join(f, key))
			case "values":
				h.Values, err = d.patterns(v, join(f, key), "header values", nil)
			}
			return err
		})
		switch {
		case err != nil:
			return nil, err
		case h.Name == "":
			return nil, d.missing(item, f, "name", "the header's name, e.g. User-Agent")
		case h.Values == nil:
			return nil, d.missing(item, f, "values", "a list of values, e.g. [\"*Mobile*\"]")
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, d.fail(v, field, "is empty; want {name, values} or a list of them")
	}
	return out, nil
}

func (d *decoder) headerName(v *yaml.Node, field string) (string, error) {
	name, err := d.str(v, field)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(name, "Host") {
		return "", d.fail(v, field, "use host_header for the Host header (ALB's rule)")
	}
	if name == "" || len(name) > maxHeaderName || strings.ContainsAny(name, "*?") || strings.ContainsFunc(name, func(r rune) bool {
		return !isAlnum(r) && !strings.ContainsRune(tokenChars, r)
	}) {
		return "", d.fail(v, field, "%q is not allowed; want a header name of 1 to %d letters, digits and %s, without wildcards", name, maxHeaderName, strings.ReplaceAll(tokenChars, "*", ""))
	}
	return name, nil
}

var queryKeys = []string{"key", "value"}

// queryPairs reads query_string: a list of {key, value}, key optional.
func (d *decoder) queryPairs(v *yaml.Node, field string) ([]QueryPair, error) {
	items, err := d.list(v, field, "{key, value} pairs (key optional)")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, d.fail(v, field, "is empty; want a list of {key, value} pairs (key optional)")
	}
	out := make([]QueryPair, len(items))
	for i, item := range items {
		f := index(field, i)
		var q QueryPair
		given := false
		err := d.fields(item, f, queryKeys, func(key string, v *yaml.Node) error {
			s, err := d.str(v, join(f, key))
			if err == nil && (len(s) > maxValueLength || key == "value" && s == "") {
				err = d.fail(v, join(f, key), "%q is not allowed; want 1 to 128 characters (* matches an empty value)", s)
			}
			if key == "key" {
				q.Key = s
			} else {
				q.Value, given = s, true
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if !given {
			return nil, d.missing(item, f, "value", "the value to find, with wildcards; * matches any value, even an empty one")
		}
		out[i] = q
	}
	return out, nil
}

// sourceIPs reads source_ip: IPv4 and IPv6 CIDR blocks.
func (d *decoder) sourceIPs(v *yaml.Node, field string) ([]netip.Prefix, error) {
	vals, nodes, err := d.strs(v, field, "CIDR blocks such as 10.0.0.0/8 or 2001:db8::/32")
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, len(vals))
	for i, s := range vals {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			hint := ""
			if _, err := netip.ParseAddr(s); err == nil {
				hint = " (one address is /32 for IPv4, /128 for IPv6)"
			}
			return nil, d.fail(nodes[i], index(field, i), "%q is not allowed; want a CIDR block such as 192.0.2.0/24 or 2001:db8::/32%s", s, hint)
		}
		out[i] = p.Masked()
	}
	return out, nil
}
