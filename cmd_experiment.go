package main

import (
	"context"
	"errors"
	"io"
)

// runExperiment is not built yet; its issue replaces this file.
func runExperiment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("experiment: not built yet")
}
