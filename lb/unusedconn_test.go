package lb

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"stickylab/internal/pipenet"
)

// TestStopClosesUnusedConns: a stop of the balancer closes at once a
// connection to the proxy or to the admin listener that never sent a byte
// (a browser's speculative connection to the dashboard, say), which
// http.Server.Shutdown alone holds for its first 5 s, and Serve returns.
// The clock is synctest's: a second of it is all the stop gets (Shutdown
// looks at its connections on a timer, and the admin server stops after
// the proxy's).
func TestStopClosesUnusedConns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A target that refuses at once: its health checks end without
		// blocking on the network, which a bubble cannot wait for.
		u, _ := url.Parse("http://127.0.0.1:1")
		b, err := New(Config{Engine: EngineStd, Targets: []Target{{Name: "app-1", URL: u}}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		pl, al := pipenet.Listen(), pipenet.Listen()
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		served := make(chan error, 1)
		go func() { served <- b.Serve(ctx, pl, al) }()

		ends := make(chan string, 2)
		for name, l := range map[string]*pipenet.Listener{"proxy": pl, "admin": al} {
			c := l.Dial()
			defer c.Close()
			go func() {
				_, err := c.Read(make([]byte, 1))
				if err != io.EOF {
					ends <- name + ": " + err.Error()
					return
				}
				ends <- name + ": closed"
			}()
		}
		synctest.Wait()

		stop()
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		default:
			t.Errorf("Serve has not returned a second after the stop: it holds the unused connections")
		}
		for range 2 {
			select {
			case end := <-ends:
				if end != "proxy: closed" && end != "admin: closed" {
					t.Errorf("unused connection ended with %s, want closed by the balancer (io.EOF)", end)
				}
			default:
				t.Errorf("an unused connection is still open a second after the stop, want it closed at once")
			}
		}
	})
}
