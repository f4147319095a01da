package lb

import (
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// portString caches the decimal form of the last listener port seen.
type portString struct {
	port int
	s    string
}

// setForwarded adds the headers ALB adds to a forwarded request (its
// x-forwarded-headers and request-tracing pages):
//
//   - X-Forwarded-For: the client's address appended to what the client
//     sent (ALB's default "append" mode). Earlier entries are the client's
//     claim and are not trusted by the balancer.
//   - X-Forwarded-Proto and X-Forwarded-Port: the protocol and port of the
//     listener the client connected to.
//   - X-Amzn-Trace-Id: Root=1-<epoch hex>-<96 random bits> when the request
//     has no Root; otherwise the Root is kept and Self= added.
//
// out is the outbound request's header, from which ReverseProxy has already
// removed the client's X-Forwarded-* headers (the fast engine's direct
// path shares one map between out and in, and takes only requests without
// them: each inbound value must be read before out's is set); in is the
// inbound request;
// vals holds the four values (one array rather than four allocations).
func (b *Balancer) setForwarded(out http.Header, in *http.Request, now time.Time, vals *[4]string) {
	n := 0
	set := func(key, v string) {
		vals[n] = v
		out[key] = vals[n : n+1 : n+1]
		n++
	}
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		set("X-Forwarded-For", ip)
	}
	if in.TLS != nil {
		set("X-Forwarded-Proto", "https")
	} else {
		set("X-Forwarded-Proto", "http")
	}
	if port := b.listenerPort(in); port != "" {
		set("X-Forwarded-Port", port)
	}
	set("X-Amzn-Trace-Id", traceID(first(in.Header, "X-Amzn-Trace-Id"), now))
}

// listenerPort returns the port of the listener that accepted in, "" when
// unknown.
func (b *Balancer) listenerPort(in *http.Request) string {
	addr, ok := in.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok {
		return ""
	}
	if c := b.ports.Load(); c != nil && c.port == addr.Port {
		return c.s
	}
	c := &portString{port: addr.Port, s: strconv.Itoa(addr.Port)}
	b.ports.Store(c)
	return c.s
}

// traceID returns the X-Amzn-Trace-Id to forward given the client's value.
func traceID(prior string, now time.Time) string {
	var id [1 + 1 + 8 + 1 + 24]byte // 1-<8 hex>-<24 hex>
	id[0], id[1], id[10] = '1', '-', '-'
	var epoch [4]byte
	u := uint32(now.Unix())
	epoch[0], epoch[1], epoch[2], epoch[3] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
	hex.Encode(id[2:10], epoch[:])
	var r [12]byte
	a, c := rand.Uint64(), rand.Uint32()
	for i := range 8 {
		r[i] = byte(a >> (8 * i))
	}
	for i := range 4 {
		r[8+i] = byte(c >> (8 * i))
	}
	hex.Encode(id[11:], r[:])
	if !hasField(prior, "Root") {
		if prior == "" {
			return "Root=" + string(id[:])
		}
		return "Root=" + string(id[:]) + ";" + prior
	}
	// ALB keeps the client's Root and sets Self to its own segment, first.
	var rest []string
	for f := range strings.SplitSeq(prior, ";") {
		if f = strings.TrimSpace(f); f != "" && !strings.HasPrefix(f, "Self=") {
			rest = append(rest, f)
		}
	}
	return "Self=" + string(id[:]) + ";" + strings.Join(rest, ";")
}

// hasField reports whether the trace header value has the field key.
func hasField(v, key string) bool {
	for f := range strings.SplitSeq(v, ";") {
		if k, _, ok := strings.Cut(strings.TrimSpace(f), "="); ok && k == key {
			return true
		}
	}
	return false
}

// first is h.Get(key) for a key already in canonical form, without
// canonicalizing it again.
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
