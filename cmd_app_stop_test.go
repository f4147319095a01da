package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"testing/synctest"

	"stickylab/internal/pipenet"
)

// TestAppStopClosesUnusedConns: the app's graceful stop closes at once a
// connection that never sent a byte (a browser's speculative connection, a
// balancer's spare one), which http.Server.Shutdown alone takes for busy
// during its first 5 seconds, and a request in flight still gets its
// whole answer. In synctest's bubble the clock stands still while a
// goroutine runs, so "at once" is exact: before any time has passed.
func TestAppStopClosesUnusedConns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := pipenet.Listen()
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("the request in flight: reading its body: %v", err)
				}
				fmt.Fprintf(w, "read %s", body)
			}),
			ReadHeaderTimeout: appReadHeaderTimeout,
		}
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		served := make(chan error, 1)
		go func() { served <- serveApp(ctx, srv, ln, slog.New(slog.DiscardHandler)) }()

		unused := ln.Dial()
		defer unused.Close()
		unusedEnd := make(chan error, 1)
		go func() {
			_, err := unused.Read(make([]byte, 1))
			unusedEnd <- err
		}()
		busy := ln.Dial()
		defer busy.Close()
		// The header and half the body: the handler waits for the rest.
		io.WriteString(busy, "POST / HTTP/1.1\r\nHost: app\r\nContent-Length: 6\r\n\r\nhal")
		answer := make(chan string, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
			if err != nil {
				answer <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			answer <- fmt.Sprintf("%d %s", resp.StatusCode, body)
		}()
		synctest.Wait()

		stop()
		synctest.Wait() // every goroutine waits; the clock has not moved
		select {
		case err := <-unusedEnd:
			if err != io.EOF {
				t.Errorf("the unused connection ended with %v, want io.EOF: closed by the app", err)
			}
		default:
			t.Errorf("the unused connection is still open once the stop has begun, want it closed at once")
		}
		select {
		case got := <-answer:
			t.Fatalf("the request in flight was answered %q before its body was sent", got)
		case err := <-served:
			t.Fatalf("serveApp returned %v with a request in flight", err)
		default:
		}

		io.WriteString(busy, "lo!")
		if got, want := <-answer, "200 read hallo!"; got != want {
			t.Errorf("the request in flight: got %q, want %q", got, want)
		}
		if err := <-served; err != nil {
			t.Errorf("serveApp: %v", err)
		}
	})
}
