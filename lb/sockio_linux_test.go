package lb

import (
	"bytes"
	"errors"
	"io"
	"net"
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
