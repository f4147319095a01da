package main

import (
	"context"
	"errors"
	"io"
)

// runLB is not built yet; its issue replaces this file.
func runLB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("lb: not built yet")
}
