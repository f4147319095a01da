package redistest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func ping(t *testing.T, addr string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestStartStopContinueRestart(t *testing.T) {
	s := Start(t)
	if got, err := ping(t, s.Addr); err != nil || got != "+PONG" {
		t.Fatalf("ping: got %q, %v; want +PONG", got, err)
	}
	s.Stop()
	if got, err := ping(t, s.Addr); err == nil {
		t.Fatalf("ping of a stopped server: got %q, want a time-out", got)
	}
	s.Continue()
	if got, err := ping(t, s.Addr); err != nil || got != "+PONG" {
		t.Fatalf("ping after Continue: got %q, %v; want +PONG", got, err)
	}
	s.Restart()
	if got, err := ping(t, s.Addr); err != nil || got != "+PONG" {
		t.Fatalf("ping after Restart: got %q, %v; want +PONG", got, err)
	}
}
