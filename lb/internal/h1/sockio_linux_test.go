package h1

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	client.SetDeadline(time.Now().Add(10 * time.Second))
	server.SetDeadline(time.Now().Add(10 * time.Second))
	return client, server
}

// TestSockIODeferredWrite: a deferred write is sent by the next read, which
// returns the answer; a write too large for the socket buffer is finished
// with waits; a peer that is gone is an error of the read, not a hang.
func TestSockIODeferredWrite(t *testing.T) {
	for _, size := range []int{16, 8 << 20} {
		client, server := tcpPair(t)
		s := newSockIO(client).(*sockIO)
		req := bytes.Repeat([]byte("r"), size)
		go func() {
			got := make([]byte, size)
			if _, err := io.ReadFull(server, got); err == nil && bytes.Equal(got, req) {
				io.WriteString(server, "answer")
			}
		}()
		s.deferWrite(true)
		if n, err := s.Write(req); n != size || err != nil {
			t.Fatalf("deferred Write: %d, %v", n, err)
		}
		s.deferWrite(false)
		buf := make([]byte, 64)
		n, err := io.ReadAtLeast(s, buf, len("answer"))
		if err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("%d bytes: read %q, %v; want the answer", size, buf[:n], err)
		}
		if len(s.pend.buf) != 0 {
			t.Fatalf("%d bytes still pending after the read", len(s.pend.buf))
		}
	}

	client, server := tcpPair(t)
	s := newSockIO(client).(*sockIO)
	server.(*net.TCPConn).SetLinger(0)
	server.Close() // RST, delivered on loopback before Close returns
	s.deferWrite(true)
	s.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	s.deferWrite(false)
	_, err := s.Read(make([]byte, 64))
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, io.EOF) {
		t.Fatalf("read after writing to a reset connection: %v, want reset, broken pipe or EOF", err)
	}
}

// arrive sends s from the peer while a holdRead callback works, and parks
// the callback for a moment, as a proxy's does while its target answers:
// meanwhile the runtime's poller takes the readiness from the kernel. It is
// a pause, not a wait for a condition: nothing shows when the poller has
// taken it, and the test passes, testing less, when it has not.
func arrive(peer net.Conn, s string) {
	io.WriteString(peer, s)
	time.Sleep(20 * time.Millisecond)
}

// TestSockIOHoldRead: inside holdRead, Read makes one read and says when
// nothing is there; what arrives while the callback works, after its read,
// wakes the next wait, with no read tried first. Were the readiness lost
// between calls, as RawConn.Read loses it when it starts, the wait would
// last until the connection's deadline and holdRead return its error.
func TestSockIOHoldRead(t *testing.T) {
	client, server := tcpPair(t)
	s := newSockIO(server).(*sockIO)
	var got []string
	buf := make([]byte, 8)
	calls := 0
	err := s.holdRead(func() bool {
		calls++
		n, err := s.Read(buf)
		switch {
		case calls == 1:
			if err != errWouldBlock {
				t.Errorf("first Read: %q, %v; want errWouldBlock", buf[:n], err)
				return true
			}
			arrive(client, "a")
			return false
		case err == errWouldBlock:
			return false // a wake-up for nothing: allowed, not expected
		case err != nil:
			t.Errorf("Read: %v", err)
			return true
		}
		got = append(got, string(buf[:n]))
		if len(got) == 1 {
			arrive(client, "b")
			return false
		}
		return true
	})
	if err != nil {
		t.Fatalf("holdRead: %v after reading %q: a readiness was lost", err, got)
	}
	if strings.Join(got, ",") != "a,b" {
		t.Fatalf("read %q, want a then b", got)
	}
	// After holdRead, Read waits again: with nothing there it waits for
	// the deadline (one already passed here) instead of saying
	// errWouldBlock.
	server.SetReadDeadline(time.Now().Add(-time.Second))
	if n, err := s.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after holdRead with nothing there: got %q, %v, want the deadline exceeded", buf[:n], err)
	}
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(client, "c")
	if n, err := s.Read(buf); err != nil || string(buf[:n]) != "c" {
		t.Fatalf("Read after holdRead: %q, %v; want c", buf[:n], err)
	}
}
