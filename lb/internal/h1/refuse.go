package h1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// What the Server refuses before any handler runs, and how it answers: as
// http.Server does (TestServerAsNetHTTP compares them).

// checkRequest refuses what http.Server refuses before any handler runs.
func checkRequest(req *http.Request) (int, string) {
	if req.ProtoMajor != 1 {
		return http.StatusHTTPVersionNotSupported, "unsupported protocol version"
	}
	// http.ReadRequest has moved the Host header to req.Host.
	if req.ProtoAtLeast(1, 1) && req.Host == "" && req.Method != http.MethodConnect {
		return http.StatusBadRequest, "missing required Host header"
	}
	// What http.Server refuses, and a comma list, which it lets through
	// but http.Transport cannot send on.
	if !validHost(req.Host) || strings.IndexByte(req.Host, ',') >= 0 {
		return http.StatusBadRequest, "malformed Host header"
	}
	if e := first(req.Header, "Expect"); e != "" && !strings.EqualFold(e, "100-continue") {
		return http.StatusExpectationFailed, "unsupported Expect header"
	}
	return 0, ""
}

// errBadHeader is a request head that http.ReadRequest parses but
// http.Server refuses.
var errBadHeader = errors.New("h1: invalid request header")

// checkHeader refuses, as http.Server does after parsing a head, a request
// whose header fields are not valid (RFC 9110, 5.1 and 5.5): a field name
// that is not a token ("Content-Length : 30", "X A: b", which
// http.ReadRequest keeps apart from the fields they look like) or a value
// with control bytes, and an HTTP/1.1 request in absolute form without a
// Host field (hasHost: the head had one; origin form gets its Host from
// the field alone, which checkRequest checks). A lenient target could read
// such a field its own way, and the next client's request as a body
// (request smuggling). The fast parser takes plain heads only, which pass.
func checkHeader(req *http.Request, hasHost bool) error {
	if req.ProtoMajor == 1 && req.ProtoMinor >= 1 && req.URL.IsAbs() && !hasHost {
		return fmt.Errorf("%w: missing Host", errBadHeader)
	}
	for k, vs := range req.Header {
		if !validHeaderName(k) {
			return fmt.Errorf("%w: invalid name %q", errBadHeader, k)
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return fmt.Errorf("%w: invalid value of %s", errBadHeader, k)
			}
		}
	}
	return nil
}

// headHasHost reports whether the request head has a Host field.
func headHasHost(head []byte) bool {
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		if len(line) >= 5 && line[4] == ':' && asciiEqualFold(string(line[:4]), "Host") {
			return true
		}
	}
	return false
}

// validHeaderName reports whether k is a field name: a token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isTokenByte(k[i]) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v has no control byte but space and
// tab, as httpguts.ValidHeaderFieldValue.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost reports whether h is made of the bytes httpguts.ValidHostHeader
// allows in a Host: those of a reg-name, an IP literal and a port.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0) {
			return false
		}
	}
	return true
}

// reject answers a request that could not be read, if the client is still
// there to read the answer.
func (c *conn) reject(err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, errHeadTooLarge):
		c.writeError(http.StatusRequestHeaderFieldsTooLarge, "request header fields too large")
		c.lingerClose()
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return
		}
		c.writeError(http.StatusBadRequest, "malformed request")
	}
}

// writeError answers with a short plain text error and closes, as
// http.Server does for requests it cannot serve.
func (c *conn) writeError(status int, msg string) {
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(c.nc, "HTTP/1.1 "+statusLine(status)+"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"+statusLine(status)+": "+msg+"\n")
}

// lingerClose half-closes the connection and reads what the client still
// sends, for at most half a second, as http.Server does after a 431: the
// client is likely still writing its head, and closing with its bytes
// unread would reset the connection and lose the answer.
func (c *conn) lingerClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.Copy(io.Discard, c.nc)
}
