package lb

import (
	"errors"
	"net"
	"syscall"
)

// What a failed exchange with a target says about the target, from the
// system's error codes: the one place outside the engines where the
// balancer reads them, so that failover.go and health.go need not.

// connectFailed reports whether err says the connection to the target
// could not be made (refused, reset, unreachable or timed out while
// dialling): the request never reached it.
func connectFailed(err error) bool {
	var op *net.OpError
	return (errors.As(err, &op) && op.Op == "dial") || errors.Is(err, syscall.ECONNREFUSED)
}

// failureReason is a short description of a failed exchange for events and
// logs.
func failureReason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case isTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	}
	return "connection failed"
}
