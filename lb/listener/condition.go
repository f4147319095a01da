package listener

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Conditions are a rule's conditions, ALB's six condition types (Terraform's
// condition blocks of aws_lb_listener_rule). The values of one condition are
// OR'd; the conditions present are AND'd; an absent condition (nil) always
// holds. Values use ALB's wildcards, * (zero or more characters) and ?
// (exactly one), except HTTPRequestMethod and SourceIP.
type Conditions struct {
	// PathPattern matches the request's path only (not its query),
	// decoded, with case (ALB's path-pattern).
	PathPattern []string
	// HostHeader matches the Host header without its port and without
	// case (ALB's host-header).
	HostHeader []string
	// HTTPHeader are header conditions, each on one header and all
	// AND'd (ALB allows several http-header conditions in a rule).
	HTTPHeader []HeaderCondition
	// HTTPRequestMethod matches the method exactly, with case: ALB's
	// http-request-method, written in upper case.
	HTTPRequestMethod []string
	// QueryString matches when one of its pairs is in the query string
	// (ALB's query-string).
	QueryString []QueryPair
	// SourceIP matches the address the connection comes from, IPv4 or
	// IPv6, not X-Forwarded-For (ALB's source-ip).
	SourceIP []netip.Prefix
}

// HeaderCondition is ALB's http-header condition: the header named Name
// (without case, no wildcards) has a value matching one of Values (without
// case, with wildcards). A request that repeats the header matches when
// any of its values does.
type HeaderCondition struct {
	Name   string
	Values []string
}

// QueryPair is one of ALB's query-string key/value pairs: Key and Value
// compare without case and with wildcards, after percent-decoding. An
// empty Key matches a parameter of any name, so {Value: "x"} matches
// ?a=x and ?b=x.
type QueryPair struct {
	Key   string
	Value string
}

// Match reports whether r, from the client address remoteIP, meets every
// condition. It is pure and safe for concurrent use.
func (c *Conditions) Match(r *http.Request, remoteIP netip.Addr) bool {
	return c.matchPath(r.URL.Path) &&
		c.matchHost(r.Host) &&
		c.matchHeaders(r.Header) &&
		anyOf(c.HTTPRequestMethod, func(m string) bool { return m == r.Method }) &&
		c.matchQuery(r.URL.RawQuery) &&
		anyOf(c.SourceIP, func(p netip.Prefix) bool { return p.Contains(remoteIP.Unmap()) })
}

// anyOf reports whether one of values satisfies ok; none given means
// the condition is absent and holds.
func anyOf[T any](values []T, ok func(T) bool) bool {
	if values == nil {
		return true
	}
	for _, v := range values {
		if ok(v) {
			return true
		}
	}
	return false
}

func (c *Conditions) matchPath(path string) bool {
	if path == "" {
		path = "/" // an absolute-form target without a path asks for /
	}
	return anyOf(c.PathPattern, func(p string) bool { return wildcardMatch(p, path, false) })
}

func (c *Conditions) matchHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return anyOf(c.HostHeader, func(p string) bool { return wildcardMatch(p, host, true) })
}

func (c *Conditions) matchHeaders(h http.Header) bool {
	for _, hc := range c.HTTPHeader {
		values := h.Values(hc.Name)
		if !anyOf(hc.Values, func(p string) bool {
			for _, v := range values {
				if wildcardMatch(p, v, true) {
					return true
				}
			}
			return false
		}) {
			return false
		}
	}
	return true
}

// matchQuery splits the raw query itself rather than with url.ParseQuery,
// which drops a whole query string over one malformed parameter and
// treats ; as an error: a parameter that does not decode is compared as
// it was sent.
func (c *Conditions) matchQuery(raw string) bool {
	if c.QueryString == nil {
		return true
	}
	params := strings.Split(raw, "&")
	return anyOf(c.QueryString, func(q QueryPair) bool {
		for _, param := range params {
			if param == "" {
				continue
			}
			k, v, _ := strings.Cut(param, "=")
			if (q.Key == "" || wildcardMatch(q.Key, unescape(k), true)) && wildcardMatch(q.Value, unescape(v), true) {
				return true
			}
		}
		return false
	})
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
