package lb

import (
	"context"
	"errors"
	"sync/atomic"
)

// errDeregistrationOver is the cause of the context of a request that a
// Router's target group cut because its target's deregistration delay
// ended while it was in flight. ALB does the same: "when the
// deregistration delay ends, requests still in flight are cut", and the
// client gets a 502.
var errDeregistrationOver = errors.New("deregistration delay over: request cut")

// cutSignal is a target's signal to the requests in flight on it: its
// context is cancelled when a drain's delay ends with requests still in
// flight.
type cutSignal struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// targetCut holds a target's current cutSignal; the zero value is ready.
type targetCut struct{ p atomic.Pointer[cutSignal] }

// signal returns the current signal, made on first use.
func (c *targetCut) signal() *cutSignal {
	for {
		if s := c.p.Load(); s != nil {
			return s
		}
		ctx, cancel := context.WithCancel(context.Background())
		if c.p.CompareAndSwap(nil, &cutSignal{ctx, cancel}) {
			return c.p.Load()
		}
		cancel()
	}
}

// cutNow cuts the requests in flight now; those that start later get a
// fresh signal.
func (c *targetCut) cutNow() {
	if s := c.p.Swap(nil); s != nil {
		s.cancel()
	}
}

// cuttable returns ctx, cancelled with errDeregistrationOver when the
// target's requests are cut, and the function that releases it once the
// request is over.
func (c *targetCut) cuttable(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(c.signal().ctx, func() { cancel(errDeregistrationOver) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// wasCut reports whether ctx, from cuttable, was cut.
func wasCut(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errDeregistrationOver)
}
