package lb

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"

	"stickylab/lb/internal/neterr"
)

// failoverTransport is the proxy's transport: it sends the request to the
// exchange's target and, with passive failover on, moves it to another
// target when the first one failed in a way that makes a retry safe.
//
// ALB does not retry (clients of a dead target get 502 until the health
// checks notice); HAProxy's "option redispatch" and Caddy's passive health
// checks do, and so does this transport when Config.PassiveFailover is set.
type failoverTransport struct {
	b *Balancer
}

var _ http.RoundTripper = (*failoverTransport)(nil)

// failure says how far a failed round trip got.
type failure int

const (
	failedOther    failure = iota // timeout, cancel, bad response: no retry
	failedRefused                 // connecting failed (refused, reset, unreachable, timed out): the request never reached the target
	failedNoAnswer                // the connection broke after the request may have been sent
)

func classify(err error) failure {
	if errors.Is(err, context.Canceled) {
		return failedOther // the client left: nobody to retry for
	}
	if errors.Is(err, errEarlyAnswer) {
		return failedOther // the target got the request: a malformed answer, 502 as on ALB
	}
	if neterr.ConnectFailed(err) {
		// Refused, reset, unreachable or timed out while connecting:
		// nothing was sent.
		return failedRefused
	}
	if isTimeout(err) {
		return failedOther // a slow target is not a dead one: 504, as on ALB
	}
	return failedNoAnswer
}

func (f *failoverTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchangeOf(req)
	ex.sent = time.Now()
	if !f.b.cfg.PassiveFailover {
		return f.b.send(req, ex.target)
	}
	var body *retryBody
	if req.Body != nil {
		// The transport closes the body of a failed attempt; the retry
		// needs it open, and needs to know whether any of it was sent.
		body = &retryBody{rc: req.Body}
		r := *req
		r.Body = body
		req = &r
	}
	resp, err := f.b.send(req, ex.target)
	if err == nil {
		return resp, nil
	}
	var tried []*target
	for {
		kind := classify(err)
		if kind == failedRefused {
			f.b.pool.markUnhealthy(ex.target, "passive failover: "+neterr.Reason(err))
		}
		// Any method may move when the target never saw the request. After
		// that only idempotent requests without a body may: the target may
		// have acted on the request, and the body is spent.
		retry := (kind == failedRefused && (body == nil || !body.read)) ||
			(kind == failedNoAnswer && idempotent(req.Method) && body == nil)
		if !retry || req.Context().Err() != nil {
			return nil, err
		}
		tried = append(tried, ex.target)
		next := f.b.pickExcept(tried)
		if next == nil {
			return nil, err
		}
		f.b.metrics.retries.WithLabelValues(retryLabel(kind)).Inc()
		ex.retries++
		ex.target.done()
		next.inFlight.Add(1)
		ex.target = next
		if ex.sticky.decision == DecisionStuck {
			ex.sticky.decision = DecisionRestuck
		}
		req = retarget(req, next)
		// The outbound request is ReverseProxy's (or the direct path's) own
		// copy, made for this exchange: its header may be rewritten for
		// the new target.
		f.b.setStickinessHeader(req.Header, ex)
		ex.sent = time.Now()
		if resp, err = f.b.send(req, next); err == nil {
			return resp, nil
		}
	}
}

func retryLabel(kind failure) string {
	if kind == failedRefused {
		return "refused"
	}
	return "no_answer"
}

// pickExcept picks a target by the algorithm among the current candidates
// that are not in tried, nil when none is left.
func (b *Balancer) pickExcept(tried []*target) *target {
	var rest []*target
	for _, t := range b.pool.load().candidates {
		if !slices.Contains(tried, t) {
			rest = append(rest, t)
		}
	}
	if len(rest) == 0 {
		return nil
	}
	return b.sel.pick(rest)
}

// send sends req to t through the engine's connections to it (engine.go).
func (b *Balancer) send(req *http.Request, t *target) (*http.Response, error) {
	return t.conns.send(req, exchangeOf(req))
}

// retarget returns a shallow copy of req sent to t: a RoundTripper must not
// modify the request it was given.
func retarget(req *http.Request, t *target) *http.Request {
	r := *req
	u := *req.URL
	u.Scheme, u.Host = t.scheme, t.host
	r.URL = &u
	return &r
}

// idempotent reports whether RFC 9110 (section 9.2.2) calls method
// idempotent.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// retryBody lets a request body survive a failed attempt: Close is left to
// ReverseProxy, and read says whether the transport consumed any of it.
type retryBody struct {
	rc   io.ReadCloser
	read bool
}

func (b *retryBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.read = true
	}
	return n, err
}

func (b *retryBody) Close() error { return nil }
