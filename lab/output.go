package lab

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// outputTailLines is how many of a child's last output lines are kept to
// explain why it failed to start.
const outputTailLines = 8

// childOutput receives a child's stdout and stderr: every complete line goes
// to the logger at debug level with the instance's name, and the last few
// lines are kept for error messages. It is safe for concurrent use.
type childOutput struct {
	log *slog.Logger

	mu      sync.Mutex // protects partial and tail
	partial []byte
	tail    []string
}

func (o *childOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		o.line(string(o.partial[:i]))
		o.partial = o.partial[i+1:]
	}
	// A child that never writes a newline must not grow this without bound.
	if len(o.partial) > 64<<10 {
		o.line(string(o.partial))
		o.partial = nil
	}
	return len(p), nil
}

// line records one line; o.mu is held.
func (o *childOutput) line(s string) {
	s = strings.TrimRight(s, "\r")
	o.log.Debug("instance output", "line", s)
	if len(o.tail) == outputTailLines {
		copy(o.tail, o.tail[1:])
		o.tail = o.tail[:outputTailLines-1]
	}
	o.tail = append(o.tail, s)
}

// lastLines returns the last lines written, oldest first, joined with " | ".
func (o *childOutput) lastLines() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := append([]string(nil), o.tail...)
	if len(o.partial) > 0 {
		lines = append(lines, string(o.partial))
	}
	return strings.Join(lines, " | ")
}
