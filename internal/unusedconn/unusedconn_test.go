package unusedconn

import (
	"io"
	"net"
	"testing"

	"stickylab/internal/pipenet"
)

// TestCloseUnused: CloseUnused closes the connections that have not sent a
// byte, leaves open one that has, and closes at once one accepted after it.
func TestCloseUnused(t *testing.T) {
	pl := pipenet.Listen()
	l := NewListener(pl)
	accept := func() (client, server net.Conn) {
		got := make(chan net.Conn)
		go func() {
			c, err := l.Accept()
			if err != nil {
				t.Errorf("Accept: %v", err)
			}
			got <- c
		}()
		client = pl.Dial()
		return client, <-got
	}
	unusedClient, _ := accept()
	usedClient, usedServer := accept()
	go usedClient.Write([]byte("G"))
	if _, err := usedServer.Read(make([]byte, 1)); err != nil {
		t.Fatalf("reading the used connection's byte: %v", err)
	}

	l.CloseUnused()
	if _, err := unusedClient.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the unused connection: read %v, want io.EOF (closed)", err)
	}
	go usedClient.Write([]byte("ET"))
	if n, err := usedServer.Read(make([]byte, 2)); err != nil || n != 2 {
		t.Errorf("the used connection after CloseUnused: read %d bytes, %v; want it open", n, err)
	}
	lateClient, _ := accept()
	if _, err := lateClient.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a connection accepted after CloseUnused: read %v, want io.EOF (closed)", err)
	}
	for _, c := range []net.Conn{unusedClient, usedClient, usedServer, lateClient} {
		c.Close()
	}
}
