package lb

import (
	"net/http"
	"strings"
)

// ALB's limits on a request head (its quotas for Application Load
// Balancers): the request line and any single header line at most 16 KiB,
// the whole head at most 64 KiB (maxHeaderBytes), 400 beyond.
//
// Who answers what: a whole head over 64 KiB is refused by the engine's
// server before any handler runs, with 431 (http.Server's MaxHeaderBytes
// on std, the front end's head reader on fast, the same limit on both);
// ALB's 400 cannot be had there without a server of our own. A head within
// it whose request line or one header line is too long reaches the
// balancer, which answers ALB's 400 (withinHeadLimits).
const (
	maxRequestLine = 16 << 10
	maxHeaderLine  = 16 << 10

	// serverMaxHeaderBytes is http.Server's MaxHeaderBytes for a whole
	// head of at most maxHeaderBytes: the server reads MaxHeaderBytes and
	// 4096 bytes more of a head before it answers 431.
	serverMaxHeaderBytes = maxHeaderBytes - 4096
)

// statusTooManyForwarded is ALB's 463: the request's X-Forwarded-For holds
// more than maxForwardedFor addresses.
const (
	statusTooManyForwarded = 463
	maxForwardedFor        = 30
)

// tooManyForwarded reports whether the X-Forwarded-For lines of h hold
// more than maxForwardedFor addresses, counted as comma-separated entries
// over every line of the header.
func tooManyForwarded(h http.Header) bool {
	lines := h["X-Forwarded-For"]
	if len(lines) == 0 {
		return false
	}
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ",") + 1
	}
	return n > maxForwardedFor
}

// reasonPhrase is the text of the balancer's own answer with status.
func reasonPhrase(status int) string {
	if status == statusTooManyForwarded {
		return "X-Forwarded-For holds more than 30 addresses"
	}
	return http.StatusText(status)
}

// refusal returns the status of the balancer's own answer to a request it
// does not forward, 0 for one it does: 463 for more than 30 addresses in
// X-Forwarded-For (ALB's), 400 for a head over ALB's limits,
// 505 for the HTTP/2 connection preface ("PRI * HTTP/2.0", RFC 9113, 3.4),
// which http.Server hands to its handler on a listener without HTTP/2 and
// which no HTTP/1.1 target should receive (the fast engine answers it the
// same way).
func refusal(r *http.Request) int {
	switch {
	case tooManyForwarded(r.Header):
		return statusTooManyForwarded
	case r.Method == "PRI" && r.ProtoMajor == 2:
		return http.StatusHTTPVersionNotSupported
	case !withinHeadLimits(r):
		// ALB answers 400 to a request line or header over its limits.
		return http.StatusBadRequest
	}
	return 0
}

// withinHeadLimits reports whether r's head keeps ALB's limits: the request
// line and every header line at most 16 KiB, and the whole head at most
// 64 KiB, counting each line as it came ("Name: value", line ends aside)
// but for the spaces around values, which the server trims. The whole head
// is the server's to bound (431); it is checked here as well for the bytes
// a server reads ahead of a pipelined request, which its limit misses.
func withinHeadLimits(r *http.Request) bool {
	line := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto)
	if line > maxRequestLine {
		return false
	}
	head := line + 2 + len("\r\n")
	if r.Host != "" {
		head += len("Host: ") + len(r.Host) + 2
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n := len(k) + len(": ") + len(v)
			if n > maxHeaderLine {
				return false
			}
			head += n + 2
		}
	}
	return head <= maxHeaderBytes && len("Host: ")+len(r.Host) <= maxHeaderLine
}
