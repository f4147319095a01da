package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"stickylab/internal/duration"
)

// usageError is a bad command line or environment value: main exits with
// status 2 and prints the one line it holds.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// newFlagSet returns a flag set for the command name that reports errors to
// its caller instead of printing them and exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// envName is the environment variable that sets the flag name:
// STICKYLAB_ followed by the name in upper case with '-' as '_'.
func envName(flagName string) string {
	return "STICKYLAB_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args into fs, then sets every flag that the command line
// left alone from its STICKYLAB_<FLAG> environment variable, if present. -h
// prints the flags with their defaults to stdout and returns flag.ErrHelp's
// sentinel errHelpShown, which callers return as nil. Every other failure is
// a usageError of one line naming the flag, the value and what is allowed.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if err := parseArgs(fs, args); err != nil {
		var ue usageError
		switch {
		case errors.Is(err, flag.ErrHelp):
			printDefaults(fs, stdout)
			return errHelpShown
		case errors.As(err, &ue):
			return err
		}
		return usageError{fmt.Errorf("%s: %v", fs.Name(), err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("%s: unexpected argument %q (flags come as -name value)", fs.Name(), fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = badValue(fs.Name(), f.Name+" (from "+envName(f.Name)+")", v, serr.Error())
		}
	})
	return err
}

// parseArgs is fs.Parse, but a value that a flag refuses is worded by
// badValue: the flag package words it its own way, another for booleans.
func parseArgs(fs *flag.FlagSet, args []string) error {
	var refused error
	fs.VisitAll(func(f *flag.Flag) {
		f.Value = &refusal{Value: f.Value, cmd: fs.Name(), name: f.Name, first: &refused}
	})
	defer fs.VisitAll(func(f *flag.Flag) { f.Value = f.Value.(*refusal).Value })
	err := fs.Parse(args)
	if refused != nil {
		return refused
	}
	return err
}

// refusal wraps a flag's Value during parseArgs and keeps, in *first, the
// first value it refuses as a badValue error.
type refusal struct {
	flag.Value
	cmd, name string
	first     *error
}

func (r *refusal) Set(s string) error {
	err := r.Value.Set(s)
	if err != nil && *r.first == nil {
		*r.first = badValue(r.cmd, r.name, s, err.Error())
	}
	return err
}

// IsBoolFlag keeps -name without a value working for boolean flags.
func (r *refusal) IsBoolFlag() bool {
	b, ok := r.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// badValue is the usage error of a value that a flag does not allow, in
// the one form of every command: the command, the value as given, the flag
// (name may add where the value came from) and what the flag allows.
func badValue(cmd, name, value, allowed string) error {
	return usageError{fmt.Errorf("%s: invalid value %q for -%s: %s", cmd, value, name, allowed)}
}

// badSecret is badValue for a flag whose value is a secret or may hold
// one (a key, a URL with a password): the value is not repeated.
func badSecret(cmd, name, allowed string) error {
	return usageError{fmt.Errorf("%s: invalid value for -%s (not repeated: it may be secret): %s", cmd, name, allowed)}
}

// errHelpShown tells a command that -h was answered and it should return nil.
var errHelpShown = errors.New("help shown")

// helpOrErr turns errHelpShown into nil so that -h exits 0.
func helpOrErr(err error) error {
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

// synopses are the arguments of the commands that take more than flags.
var synopses = map[string]string{"healthcheck": "URL [flags]"}

func printDefaults(fs *flag.FlagSet, w io.Writer) {
	synopsis, ok := synopses[fs.Name()]
	if !ok {
		synopsis = "[flags]"
	}
	fmt.Fprintf(w, "Usage: stickylab %s %s\n\nFlags (each also as STICKYLAB_<FLAG>):\n", fs.Name(), synopsis)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// boolFlag is a boolean flag whose error says what is allowed (the flag
// package's own says "parse error").
type boolFlag struct{ p *bool }

// boolVar defines a boolean flag, as fs.Bool.
func boolVar(fs *flag.FlagSet, name string, def bool, usage string) *bool {
	p := new(bool)
	*p = def
	fs.Var(boolFlag{p}, name, usage)
	return p
}

func (b boolFlag) IsBoolFlag() bool { return true }

func (b boolFlag) String() string {
	if b.p == nil {
		return "false"
	}
	return strconv.FormatBool(*b.p)
}

func (b boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true or false")
	}
	*b.p = v
	return nil
}

// choiceFlag is a string flag whose value must be one of allowed.
type choiceFlag struct {
	value   string
	allowed []string
}

func newChoice(def string, allowed ...string) *choiceFlag {
	return &choiceFlag{value: def, allowed: allowed}
}

func (c *choiceFlag) String() string {
	if c == nil {
		return ""
	}
	return c.value
}

func (c *choiceFlag) Set(s string) error {
	if !slices.Contains(c.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(c.allowed, ", "))
	}
	c.value = s
	return nil
}

// durationFlag is a duration flag bounded to [min, max].
type durationFlag struct {
	value    time.Duration
	min, max time.Duration
	given    string // the value as the command line or environment gave it; "" while the default holds
}

func newDuration(def, min, max time.Duration) *durationFlag {
	return &durationFlag{value: def, min: min, max: max}
}

func (d *durationFlag) String() string {
	if d == nil {
		return ""
	}
	return duration.Short(d.value)
}

func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("must be a duration such as 30s, 5m or 24h, from %s to %s", duration.Short(d.min), duration.Short(d.max))
	}
	if v < d.min || v > d.max {
		return fmt.Errorf("must be from %s to %s", duration.Short(d.min), duration.Short(d.max))
	}
	d.value, d.given = v, s
	return nil
}

// intFlag is an integer flag bounded to [min, max].
type intFlag struct {
	value    int
	min, max int
}

func newInt(def, min, max int) *intFlag { return &intFlag{value: def, min: min, max: max} }

func (n *intFlag) String() string {
	if n == nil {
		return ""
	}
	return fmt.Sprint(n.value)
}

func (n *intFlag) Set(s string) error {
	var v int
	if _, err := fmt.Sscan(s, &v); err != nil || fmt.Sprint(v) != strings.TrimSpace(s) {
		return fmt.Errorf("must be a whole number from %d to %d", n.min, n.max)
	}
	if v < n.min || v > n.max {
		return fmt.Errorf("must be from %d to %d", n.min, n.max)
	}
	n.value = v
	return nil
}

// checkListeners refuses a -listen or -admin that is not host:port with a
// port from 0 to 65535, and the two on the same port (the same host, or
// either on every interface): the second listen would otherwise fail with
// "address already in use", which points at some other program.
func checkListeners(cmd, listen, admin string) error {
	lh, lp, err := splitListenAddr(cmd, "listen", listen)
	if err != nil {
		return err
	}
	ah, ap, err := splitListenAddr(cmd, "admin", admin)
	if err != nil {
		return err
	}
	if lp != ap || lp == 0 {
		return nil
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	if lh == ah || wildcard(lh) || wildcard(ah) {
		return usageError{fmt.Errorf("%s: -listen %s and -admin %s take the same port: give them different ones", cmd, listen, admin)}
	}
	return nil
}

// splitListenAddr splits the address of the flag name, or returns a
// usageError saying what is wrong with it.
func splitListenAddr(cmd, name, addr string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err == nil {
		port, err = strconv.Atoi(p)
	}
	if err != nil || port < 0 || port > 65535 {
		return "", 0, badValue(cmd, name, addr, "must be host:port (the host may be empty, the port 0 to 65535)")
	}
	return host, port, nil
}
