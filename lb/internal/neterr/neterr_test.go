package neterr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestFromRealSockets classifies the errors real sockets give, not
// hand-made ones, so that a change in how the net package wraps them shows.
func TestFromRealSockets(t *testing.T) {
	// A port nobody listens on: bind one, note it, close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		t.Fatalf("dial %s: no error from a closed port", addr)
	}
	if !ConnectFailed(err) || Reason(err) != "connection refused" {
		t.Errorf("refused dial %v: ConnectFailed %v, Reason %q", err, ConnectFailed(err), Reason(err))
	}

	// A read that times out on an open connection: not a connect failure.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err = c.Read(make([]byte, 1))
	if !Timeout(err) || ConnectFailed(err) || Reason(err) != "timeout" {
		t.Errorf("read timeout %v: Timeout %v, ConnectFailed %v, Reason %q", err, Timeout(err), ConnectFailed(err), Reason(err))
	}
}

func TestTimeoutFromContext(t *testing.T) {
	err := fmt.Errorf("round trip: %w", context.DeadlineExceeded)
	if !Timeout(err) || Reason(err) != "timeout" {
		t.Errorf("%v: Timeout %v, Reason %q", err, Timeout(err), Reason(err))
	}
	if other := errors.New("boom"); Timeout(other) || ConnectFailed(other) || Reason(other) != "connection failed" {
		t.Errorf("%v classified as a timeout or connect failure", other)
	}
}
