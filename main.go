// Command stickylab is a hands-on lab for sticky sessions and shared session
// stores: a web application, an ALB-like load balancer, and the lab that runs
// them together on one machine.
//
// main only turns flags and environment variables into the config structs of
// the packages app, lb and lab, and runs one role. Every role lives in its own
// file here (cmd_app.go, cmd_lb.go, ...); the flag machinery they share is in
// flags.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stickylab:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// command is one role of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "the whole lab on one machine (the default)", runDemo},
		{"app", "one application instance", runApp},
		{"lb", "the load balancer", runLB},
		{"experiment", "run the scenario matrix and print the table", runExperiment},
		{"healthcheck", "exit 0 when URL answers 2xx within 2s", runHealthcheck},
		{"version", "print the version", runVersion},
	}
}

// run runs the role named by args[0]; no arguments, or a first argument that
// is a flag, means demo.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name := "demo"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		// stickylab -h: the commands, then the flags of demo, the default.
		usage(stdout)
		fmt.Fprintln(stdout)
	}
	if len(args) > 0 && (len(args[0]) == 0 || args[0][0] != '-') {
		name, args = args[0], args[1:]
	}
	switch name {
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args, stdout, stderr)
		}
	}
	usage(stderr)
	return usageError{fmt.Errorf("unknown command %q", name)}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: stickylab [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'stickylab COMMAND -h' for the flags of a command. Every flag can also be")
	fmt.Fprintln(w, "set as an environment variable STICKYLAB_<FLAG> (STICKYLAB_STORE=redis); the")
	fmt.Fprintln(w, "command line wins.")
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "stickylab", version)
	return nil
}
