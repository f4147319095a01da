package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"stickylab/lb"
	"stickylab/lb/listener"
)

// groupFlags are the flags that describe the one target group and listener
// of the flag form: a configuration file says all of them itself, so they
// cannot be given with -config.
var groupFlags = []string{
	"listen", "targets", "sticky", "sticky-duration", "app-cookie", "algorithm", "health-path",
	"health-interval", "health-timeout", "healthy-threshold", "unhealthy-threshold", "deregistration-delay",
}

// checkNotMixed refuses a flag of the flag form given with -config (on the
// command line or in the environment).
func checkNotMixed(cmd string, fs *flag.FlagSet) error {
	var mixed []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(groupFlags, f.Name) {
			mixed = append(mixed, "-"+f.Name)
		}
	})
	if len(mixed) > 0 {
		return usageError{fmt.Errorf("%s: -config cannot be mixed with %s: the file's listener and target_groups say it (flags or STICKYLAB_ variables allowed with -config: -admin, -cookie-key, -passive-failover, -stickiness-header, -public-url, -admin-host, -engine)", cmd, strings.Join(mixed, ", "))}
	}
	return nil
}

// loadConfigFile reads -config; a mistake in it is a usage error naming the
// file, line and column.
func loadConfigFile(path string) (*listener.Config, error) {
	file, err := listener.Load(path)
	var le *listener.Error
	if errors.As(err, &le) {
		return nil, usageError{err}
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("-config: %w", err)}
	}
	return file, nil
}

// routerError turns lb.NewRouter's refusals into usage errors naming
// -config; cmd names the command.
func routerError(cmd, path string, err error) error {
	var fe *lb.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	switch fe.Field {
	case "Engine", "CookieKeys", "PublicURL", "AdminHosts": // flags allowed with -config
		return lbConfigError(cmd, fe)
	case "Config":
		return usageError{fmt.Errorf("%s: -config %s: %s: %v", cmd, path, fe.Value, fe.Err)}
	}
	return usageError{fmt.Errorf("%s: -config %s: %v", cmd, path, err)}
}
