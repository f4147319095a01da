package h1

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// response is the Server's http.ResponseWriter. It writes the status
// line and headers on the first Write or Flush (or at the end), frames the
// body with the Content-Length the handler set, else chunked (HTTP/1.1) or
// until close (HTTP/1.0), and supports http.Flusher and http.Hijacker (for
// ReverseProxy's protocol upgrades). One per connection, reused.
type response struct {
	conn   *conn
	req    *http.Request
	header http.Header

	status      int
	wroteHeader bool  // status and headers are written (or buffered)
	bodyless    bool  // HEAD, 1xx, 204, 304: no body may follow
	chunked     bool  // body in chunked encoding
	length      int64 // Content-Length set by the handler, -1 when none
	written     int64 // body bytes written
	closeAfter  bool  // the connection ends with this response
	hijacked    bool
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ http.Hijacker       = (*response)(nil)
)

func (w *response) reset(req *http.Request) {
	// The header map keeps its keys with empty values, so that copying
	// the next target's headers reuses their slices instead of allocating
	// (writeHeaders skips empty ones); a map grown by odd responses is
	// dropped.
	if len(w.header) > maxKeptHeaderKeys {
		w.header = make(http.Header)
	} else {
		for k, v := range w.header {
			w.header[k] = v[:0]
		}
	}
	*w = response{conn: w.conn, req: req, header: w.header, length: -1}
	o := &w.conn.opts
	o.bodyFree, o.direct = true, nil
	// HTTP/1.0 keeps the connection only when asked to; a client that
	// sent Connection: close is told so.
	w.closeAfter = req.Close || (!req.ProtoAtLeast(1, 1) && !strings.EqualFold(req.Header.Get("Connection"), "keep-alive"))
}

func (w *response) Header() http.Header { return w.header }

// WriteHeader sends 1xx informational responses at once (ReverseProxy
// forwards a target's 103 Early Hints this way) and records any other
// status for the first write.
func (w *response) WriteHeader(code int) {
	if w.wroteHeader || w.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		bw := w.conn.bw
		writeStatusLine(bw, w.req, code)
		writeHeaders(bw, w.header)
		bw.WriteString("\r\n")
		bw.Flush()
		return
	}
	w.status = code
	w.wroteHeader = true
	w.bodyless = w.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified || code < 200
	if cl := first(w.header, "Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.length = n
		} else {
			w.header.Del("Content-Length")
		}
	}
	if first(w.header, "Connection") == "close" {
		w.closeAfter = true
	}
	switch {
	case w.bodyless || w.length >= 0:
	case w.req.ProtoAtLeast(1, 1):
		w.chunked = true
		w.header.Del("Content-Length")
		w.header["Transfer-Encoding"] = []string{"chunked"}
	default:
		w.closeAfter = true // HTTP/1.0 without a length: the body ends with the connection
	}
	switch {
	case w.closeAfter && w.req.ProtoAtLeast(1, 1):
		w.header["Connection"] = []string{"close"}
	case w.closeAfter:
		// HTTP/1.0 closes unless told otherwise: http.Server says
		// nothing.
		delete(w.header, "Connection")
	case !w.req.ProtoAtLeast(1, 1):
		w.header["Connection"] = []string{"keep-alive"}
	}
	if len(w.header["Date"]) == 0 {
		w.header["Date"] = []string{w.conn.f.httpDate(time.Now())}
	}
	bw := w.conn.bw
	writeStatusLine(bw, w.req, code)
	writeHeaders(bw, w.header)
	bw.WriteString("\r\n")
}

// maxKeptHeaderKeys bounds the header keys a connection's response keeps
// between requests.
const maxKeptHeaderKeys = 32

var errBodyTooLong = errors.New("h1: response body longer than its Content-Length")

func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.bodyless {
		return len(p), nil
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, errBodyTooLong
	}
	w.written += int64(len(p))
	bw := w.conn.bw
	if !w.chunked {
		return bw.Write(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
	bw.WriteString("\r\n")
	bw.Write(p)
	_, err := bw.WriteString("\r\n")
	return len(p), err
}

// Flush sends what is buffered to the client.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush reporting a write error, for http.ResponseController.
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.conn.bw.Flush()
}

// Hijack hands the connection over, for protocol upgrades; it is then the
// caller's to close.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.wroteHeader {
		return nil, nil, errors.New("h1: hijack after the response started")
	}
	if w.conn.inHold {
		// A target switched protocols on a request that asked for no
		// upgrade (serveHeld hands those that do to the general path).
		return nil, nil, errors.New("h1: hijack of a request that asked for no upgrade")
	}
	w.hijacked = true
	c := w.conn
	c.nc.SetDeadline(time.Time{})
	return c.nc, bufio.NewReadWriter(c.br, c.bw), nil
}

// finish completes the response after the handler returned.
func (w *response) finish() error {
	if !w.wroteHeader {
		// Nothing written: an empty 200, with its length.
		w.header["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusOK)
	}
	bw := w.conn.bw
	if w.chunked {
		bw.WriteString("0\r\n\r\n")
	}
	if w.length >= 0 && w.written < w.length && !w.bodyless {
		// The handler broke off (a target that died mid-body): the
		// client must not wait for bytes that will never come.
		bw.Flush()
		return errBodyTooLong
	}
	return bw.Flush()
}

// writeStatusLine writes "HTTP/1.1 <code> <reason>\r\n", or HTTP/1.0 to
// an HTTP/1.0 request (req), as http.Server does.
func writeStatusLine(bw *bufio.Writer, req *http.Request, code int) {
	if req.ProtoAtLeast(1, 1) {
		bw.WriteString("HTTP/1.1 ")
	} else {
		bw.WriteString("HTTP/1.0 ")
	}
	bw.WriteString(statusLine(code))
	bw.WriteString("\r\n")
}

// statusLine is "<code> <reason>", without allocating for known codes.
func statusLine(code int) string {
	switch code {
	case http.StatusOK:
		return "200 OK"
	case http.StatusFound:
		return "302 Found"
	case http.StatusSeeOther:
		return "303 See Other"
	case http.StatusNotModified:
		return "304 Not Modified"
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// writeHeaders writes the header lines. Values with line breaks, which no
// parsed header has, are cut there, and a field whose name is not a token
// (which http.ReadResponse lets through, "X A") is left out, as
// http.Header.Write does, so that nothing can smuggle a header. An empty
// User-Agent is left out: it is ReverseProxy's way of saying "send none"
// (http.Request.Write does the same).
func writeHeaders(bw *bufio.Writer, h http.Header) {
	for k, vs := range h {
		if k == "User-Agent" && (len(vs) == 0 || vs[0] == "") || !validHeaderName(k) {
			continue
		}
		for _, v := range vs {
			if i := strings.IndexByte(v, '\n'); i >= 0 {
				v = v[:i]
			}
			if i := strings.IndexByte(v, '\r'); i >= 0 {
				v = v[:i]
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
}

// first is h.Get(key) for a key already in canonical form, without
// canonicalizing it again.
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// httpDate is the Date header value of now, formatted once a second.
func (f *Server) httpDate(now time.Time) string {
	unix := now.Unix()
	if d := f.date.Load(); d != nil && d.unix == unix {
		return d.s
	}
	d := &cachedDate{unix: unix, s: now.UTC().Format(http.TimeFormat)}
	f.date.Store(d)
	return d.s
}

type cachedDate struct {
	unix int64
	s    string
}
