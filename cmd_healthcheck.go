package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runHealthcheck serves the HEALTHCHECK of images that have no curl: it exits
// 0 when the URL answers 2xx within 2 seconds.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck")
	timeout := newDuration(2*time.Second, 100*time.Millisecond, time.Minute)
	fs.Var(timeout, "timeout", "how long to wait for the answer")
	var url string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		url, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return helpOrErr(err)
	}
	if url == "" {
		return usageError{fmt.Errorf("healthcheck: missing URL (stickylab healthcheck http://127.0.0.1:8080/healthz)")}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout.value)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usageError{fmt.Errorf("healthcheck: invalid URL %q: %v", url, err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(stdout, "ok:", resp.Status)
	return nil
}
