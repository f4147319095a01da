// Package neterr says what a failed exchange with a target says about the
// target, from the system's error codes. It is the one place where the
// balancer's failover and health checks learn of them, so that no file of
// the balancer proper imports syscall (lb's TestEngineSeam checks that).
package neterr

import (
	"context"
	"errors"
	"net"
	"syscall"
)

// ConnectFailed reports whether err says the connection to the target could
// not be made (refused, reset, unreachable or timed out while dialling): the
// request never reached it.
func ConnectFailed(err error) bool {
	var op *net.OpError
	return (errors.As(err, &op) && op.Op == "dial") || errors.Is(err, syscall.ECONNREFUSED)
}

// Timeout reports whether err is a deadline that ran out, the context's or
// the connection's.
func Timeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Reason is a short description of a failed exchange for events and logs.
func Reason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case Timeout(err):
		return "timeout"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	}
	return "connection failed"
}
