package main

import (
	"context"
	"errors"
	"io"
)

// runApp is not built yet; its issue replaces this file.
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("app: not built yet")
}
