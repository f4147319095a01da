package listener

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Action is what a rule, or the listener's default action, does: exactly
// one of its fields is set (ALB's action types forward, redirect and
// fixed-response; Terraform's forward, redirect and fixed_response blocks).
type Action struct {
	Forward       *Forward
	Redirect      *Redirect
	FixedResponse *FixedResponse
}

// Type names the action as ALB does: "forward", "redirect" or
// "fixed-response".
func (a *Action) Type() string {
	switch {
	case a.Forward != nil:
		return "forward"
	case a.Redirect != nil:
		return "redirect"
	case a.FixedResponse != nil:
		return "fixed-response"
	}
	return ""
}

// Forward sends the request to a target group: one, or one of up to five
// chosen by weight (ALB's weighted target groups).
type Forward struct {
	// TargetGroups are the groups and their weights, 1 to 5, names
	// unique. The single form, forward: {target_group: web}, is one
	// group of weight 1.
	TargetGroups []WeightedGroup
	// Stickiness is ALB's group-level stickiness (the forward's
	// TargetGroupStickinessConfig): the AWSALBTG and AWSALBTGCORS cookies
	// keep a client on the group it was first sent to, for Duration, while
	// the weights change.
	Stickiness GroupStickiness
}

// WeightedGroup is one target group of a forward and its weight, 0 to 999.
type WeightedGroup struct {
	Name   string
	Weight int
}

// GroupStickiness is ALB's TargetGroupStickinessConfig (Terraform's
// forward.stickiness): Duration from 1s to 7d.
type GroupStickiness struct {
	Enabled  bool
	Duration time.Duration
}

// Redirect is ALB's redirect action: each component of the URL the
// client is sent to is a literal or reuses the request's with #{protocol},
// #{host}, #{port}, #{path} (without its leading slash) and #{query}. The
// fields hold the file's values with ALB's defaults filled in.
type Redirect struct {
	Protocol   string // HTTP, HTTPS or #{protocol} (default)
	Host       string // default #{host}
	Port       string // 1 to 65535 or #{port} (default)
	Path       string // starts with /, default /#{path}
	Query      string // without the leading ?, default #{query}
	StatusCode int    // 301 (HTTP_301) or 302 (HTTP_302)
}

// Location returns the URL that r is redirected to and the status code.
// listenerPort is the port the client connected to: what #{port} stands
// for, and the port ALB always writes into the Location (observed: ALB
// sends https://example.com:443/, with the default port).
func (rd *Redirect) Location(r *http.Request, listenerPort int) (location string, status int) {
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	vars := strings.NewReplacer(
		"#{protocol}", proto,
		"#{host}", host,
		"#{port}", strconv.Itoa(listenerPort),
		"#{path}", strings.TrimPrefix(path, "/"),
		"#{query}", r.URL.RawQuery,
	)
	scheme := strings.ToLower(vars.Replace(rd.Protocol))
	u := scheme + "://" + hostPort(vars.Replace(rd.Host), vars.Replace(rd.Port)) + vars.Replace(rd.Path)
	if q := vars.Replace(rd.Query); q != "" {
		u += "?" + q
	}
	return u, rd.StatusCode
}

// hostPort joins host and port, bracketing an IPv6 literal.
func hostPort(host, port string) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}

// FixedResponse is ALB's fixed-response action. It is an http.Handler.
type FixedResponse struct {
	StatusCode  int    // 2XX, 4XX or 5XX
	ContentType string // text/plain (default), text/css, text/html, application/javascript or application/json
	MessageBody string // at most 1024 bytes
}

var _ http.Handler = (*FixedResponse)(nil)

// ServeHTTP writes the fixed response.
func (f *FixedResponse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.MessageBody)))
	w.WriteHeader(f.StatusCode)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(f.MessageBody))
	}
}
