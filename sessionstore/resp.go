package sessionstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The cache's connection speaks RESP3 itself (resp.go, trackconn.go)
// rather than through go-redis, because it needs what go-redis's pooled
// connections do not give: one connection that carries the commands whose
// answers fill the cache and the invalidation pushes that empty it, read in
// the order Redis sent them. This is the subset of RESP3 that Redis sends to
// such a connection, after https://redis.io/docs/latest/develop/reference/protocol-spec/.

// respError is an error reply ("-ERR ...", "!<len>" in RESP3).
type respError string

func (e respError) Error() string { return "redis: " + string(e) }

// respPush is an out-of-band push ('>'), such as ["invalidate", [keys]].
type respPush []any

// maxRespLen bounds a length or count read from the server, so that a
// corrupt stream cannot make us allocate gigabytes. A session record is a
// few kilobytes; 64 MiB leaves room for anything Redis may send us.
const maxRespLen = 64 << 20

// readResp reads one RESP2 or RESP3 value. Values come back as: string
// (simple string, verbatim string without its format), []byte (bulk
// string), int64, float64 (double), bool, nil (null), []any (array, set,
// map as key, value, key, value...), respPush, respError (an error reply, as
// a value, not as the returned error: the returned error is for a stream
// that cannot be read). Attributes are read and dropped.
func readResp(r *bufio.Reader) (any, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("resp: empty line")
	}
	kind, rest := line[0], string(line[1:])
	switch kind {
	case '+':
		return rest, nil
	case '-':
		return respError(rest), nil
	case ':':
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resp: integer %q: %w", rest, err)
		}
		return n, nil
	case ',':
		f, err := strconv.ParseFloat(rest, 64)
		if err != nil {
			return nil, fmt.Errorf("resp: double %q: %w", rest, err)
		}
		return f, nil
	case '(':
		return rest, nil // big number, as its digits
	case '#':
		switch rest {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, fmt.Errorf("resp: boolean %q", rest)
	case '_':
		return nil, nil
	case '$', '!', '=':
		n, err := respLen(rest)
		if err != nil || n < 0 {
			return nil, err // $-1: RESP2's null bulk string
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("resp: bulk of %d bytes: %w", n, err)
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, errors.New("resp: bulk string without CRLF")
		}
		b = b[:n]
		switch kind {
		case '!':
			return respError(b), nil
		case '=':
			if len(b) < 4 || b[3] != ':' {
				return nil, errors.New("resp: verbatim string without a format")
			}
			return string(b[4:]), nil
		}
		return b, nil
	case '*', '~', '>', '%', '|':
		n, err := respLen(rest)
		if err != nil || n < 0 {
			return nil, err // *-1: RESP2's null array
		}
		if kind == '%' || kind == '|' {
			n *= 2
		}
		items := make([]any, 0, min(n, 1024))
		for range n {
			v, err := readResp(r)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		switch kind {
		case '>':
			return respPush(items), nil
		case '|':
			return readResp(r) // the attribute describes the value that follows
		}
		return items, nil
	}
	return nil, fmt.Errorf("resp: unknown type %q", kind)
}

// readLine reads a CRLF-terminated line without its CRLF.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("resp: line too long")
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errors.New("resp: line without CRLF")
	}
	return line[:len(line)-2], nil
}

// respLen parses a length or count; -1 is a RESP2 null.
func respLen(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < -1 || n > maxRespLen {
		return 0, fmt.Errorf("resp: length %q", s)
	}
	return n, nil
}

// appendCommand appends args as a RESP array of bulk strings, the form
// every command is sent in.
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
