package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// How a simulated user treats a failed request: like a person who reloads
// the page after a moment, until the phase has its answers or its time is
// up. Both bounds keep every phase finite.
const (
	retryPause     = 50 * time.Millisecond
	phaseTimeout   = 15 * time.Second
	requestTimeout = 5 * time.Second
)

// user is one simulated browser: its own cookie jar, so its own AWSALB,
// AWSALBAPP-0 and session cookies, talking to the balancer.
type user struct {
	name     string
	base     string // the balancer's URL
	jar      http.CookieJar
	client   *http.Client
	loggedIn bool // the user logged in and has not been seen logged out since
	// last is when the user's last answer arrived (UnixNano): stickiness
	// slides from there. Atomic: a user's tabs send at once.
	last atomic.Int64
}

// sessionView is the part of GET /api/session a user looks at.
type sessionView struct {
	Instance string   `json:"instance"`
	LoggedIn bool     `json:"logged_in"`
	User     string   `json:"user"`
	Cart     []string `json:"cart"`
	Error    string   `json:"error"`
}

// tally is what one user saw in one phase.
type tally struct {
	loggedOut bool            // seen logged out at least once
	logouts   int             // how often: each time the user had to log in again
	failed    int             // requests without a 2xx answer
	failedBy  map[string]int  // why, as "status 502" or the error
	requests  int             // requests sent, logins included
	answered  int             // GET /api/session requests answered
	served    map[string]bool // instances that answered
	// The longest time from an answer of the user to its next request
	// (idle: stickiness certainly slid no further), and to its next answer
	// (the request may have waited in a queue before the balancer saw it).
	maxIdle, maxGap time.Duration
	cookieSent      int // bytes of the session cookie (name=value) sent, all requests
}

func newTally() tally { return tally{served: map[string]bool{}, failedBy: map[string]int{}} }

// fail counts a failed request and why.
func (t *tally) fail(why string) {
	t.failed++
	t.failedBy[why]++
}

// add adds o's counts to t.
func (t *tally) add(o tally) {
	t.loggedOut = t.loggedOut || o.loggedOut
	t.logouts += o.logouts
	t.failed += o.failed
	t.requests += o.requests
	t.answered += o.answered
	t.maxGap = max(t.maxGap, o.maxGap)
	t.maxIdle = max(t.maxIdle, o.maxIdle)
	t.cookieSent += o.cookieSent
	for inst := range o.served {
		t.served[inst] = true
	}
	for why, n := range o.failedBy {
		t.failedBy[why] += n
	}
}

// newCrowd makes n users who share one transport (connections to the
// balancer are reused, as a browser would; the cookies are per user),
// named user-01 … in order.
func newCrowd(n int, base string, transport http.RoundTripper) ([]*user, error) {
	return newCrowdFrom(1, n, base, transport)
}

// newCrowdFrom makes n users numbered from first on.
func newCrowdFrom(first, n int, base string, transport http.RoundTripper) ([]*user, error) {
	users := make([]*user, n)
	for i := range users {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("crowd: %w", err)
		}
		users[i] = &user{
			name:   fmt.Sprintf("user-%02d", first+i),
			base:   base,
			jar:    jar,
			client: &http.Client{Jar: jar, Transport: transport, Timeout: requestTimeout},
		}
	}
	return users, nil
}

// together runs work for every user at once and returns what each saw, in
// user order. A user whose work is done keeps its session warm while the
// others finish, with one GET /api/session every warm (zero: it waits
// idle), as a person who keeps reading the site does: without it, the
// first users done would wait idle for the slowest, and in a large crowd
// for longer than the stickiness duration, which would then expire inside
// the phase. The phase ends after phaseTimeout at the latest.
func together(ctx context.Context, users []*user, warm time.Duration, work func(context.Context, *user, *tally)) []tally {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	out := make([]tally, len(users))
	allDone := make(chan struct{})
	var pending atomic.Int64
	pending.Store(int64(len(users)))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			out[i] = newTally()
			work(ctx, u, &out[i])
			if pending.Add(-1) == 0 {
				close(allDone)
			}
			u.keepWarm(ctx, &out[i], allDone, warm)
		})
	}
	wg.Wait()
	return out
}

// whileWarm runs op while every user keeps its session warm (one GET
// /api/session every warm), and returns op's error and what the users saw
// meanwhile: what users who keep working see while an operator restarts,
// drains or switches something.
func whileWarm(ctx context.Context, users []*user, warm time.Duration, op func() error) ([]tally, error) {
	stop := make(chan struct{})
	out := make([]tally, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			out[i] = newTally()
			u.keepWarm(ctx, &out[i], stop, warm)
		})
	}
	err := op()
	close(stop)
	wg.Wait()
	return out, err
}

// phase has every user make `answers` answered requests to GET
// /api/session, all users at once, then keep warm until all are done, and
// returns what each saw, in user order. A user who answers logged out
// (logged_in false, or someone else's session) after having logged in is
// counted and logs in again at once, so that the next phase starts logged
// in.
func phase(ctx context.Context, users []*user, answers int, warm time.Duration) []tally {
	return together(ctx, users, warm, func(ctx context.Context, u *user, t *tally) {
		for got := 0; got < answers && ctx.Err() == nil; {
			if u.visit(ctx, t) {
				got++
			}
		}
	})
}

// loginAll logs every user in, all at once, and returns what each saw.
func loginAll(ctx context.Context, users []*user, warm time.Duration) []tally {
	return together(ctx, users, warm, func(ctx context.Context, u *user, t *tally) { u.login(ctx, t) })
}

// keepWarm visits every warm until done is closed; warm zero: it waits.
func (u *user) keepWarm(ctx context.Context, t *tally, done <-chan struct{}, warm time.Duration) {
	if warm <= 0 {
		return
	}
	tick := time.NewTicker(warm)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-tick.C:
			u.visit(ctx, t)
		}
	}
}

// visit makes one GET /api/session and reports whether it was answered. A
// user seen logged out is counted and logs in again; a failed request
// is followed by a pause of retryPause.
func (u *user) visit(ctx context.Context, t *tally) bool {
	var s sessionView
	if _, ok := u.do(ctx, t, http.MethodGet, "/api/session", nil, &s); !ok {
		pause(ctx, retryPause)
		return false
	}
	t.answered++
	if !s.LoggedIn || s.User != u.name {
		u.relogin(ctx, t)
	}
	return true
}

// relogin counts the user as logged out, if it was logged in, and logs it
// in again.
func (u *user) relogin(ctx context.Context, t *tally) {
	if u.loggedIn {
		t.loggedOut = true
		t.logouts++
		u.loggedIn = false
	}
	u.login(ctx, t)
}

// login logs the user in, retrying failures like visit does.
func (u *user) login(ctx context.Context, t *tally) {
	body, _ := json.Marshal(map[string]string{"username": u.name})
	for ctx.Err() == nil {
		var s sessionView
		if _, ok := u.do(ctx, t, http.MethodPost, "/api/login", body, &s); ok {
			u.loggedIn = true
			return
		}
		pause(ctx, retryPause)
	}
}

// addItem puts item in the cart (POST /api/cart) once, without retrying,
// and returns the HTTP status (0: no answer) and the session after it.
func (u *user) addItem(ctx context.Context, t *tally, item string) (int, sessionView) {
	body, _ := json.Marshal(map[string]string{"item": item})
	var s sessionView
	status, _ := u.do(ctx, t, http.MethodPost, "/api/cart", body, &s)
	return status, s
}

// logout logs the user out (POST /api/logout) and reports whether it was
// answered.
func (u *user) logout(ctx context.Context, t *tally) bool {
	var s sessionView
	_, ok := u.do(ctx, t, http.MethodPost, "/api/logout", nil, &s)
	if ok {
		u.loggedIn = false
	}
	return ok
}

// cookie returns the value of the named cookie the user's jar holds for
// the balancer, and false when there is none.
func (u *user) cookie(name string) (string, bool) {
	base, err := url.Parse(u.base)
	if err != nil {
		return "", false
	}
	for _, c := range u.jar.Cookies(base) {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// do sends one request and decodes its JSON answer into v. It returns the
// status (0: no answer) and false, counting a failure, when there is no 2xx
// answer.
func (u *user) do(ctx context.Context, t *tally, method, path string, body []byte, v *sessionView) (int, bool) {
	t.requests++
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, bytes.NewReader(body))
	if err != nil {
		t.fail(err.Error())
		return 0, false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, c := range u.jar.Cookies(req.URL) {
		if c.Name == AppCookie {
			t.cookieSent += len(c.Name) + 1 + len(c.Value)
		}
	}
	if last := u.last.Load(); last != 0 {
		t.maxIdle = max(t.maxIdle, time.Since(time.Unix(0, last)))
	}
	resp, err := u.client.Do(req)
	if err != nil {
		t.fail(failure(err))
		return 0, false
	}
	defer resp.Body.Close()
	// From one answer to the next: an upper bound of the time the
	// balancer saw between them (the request may have waited for a
	// connection or in a queue before it reached the balancer).
	now := time.Now()
	if last := u.last.Swap(now.UnixNano()); last != 0 {
		t.maxGap = max(t.maxGap, now.Sub(time.Unix(0, last)))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	decodeErr := json.Unmarshal(data, v)
	switch {
	case resp.StatusCode/100 != 2:
		t.fail(fmt.Sprintf("%s %s: status %d", method, path, resp.StatusCode))
		return resp.StatusCode, false
	case err != nil:
		t.fail(failure(err))
		return resp.StatusCode, false
	case decodeErr != nil:
		t.fail(fmt.Sprintf("%s %s: not JSON", method, path))
		return resp.StatusCode, false
	}
	if v.Instance != "" {
		t.served[v.Instance] = true
	}
	return resp.StatusCode, true
}

// failure names a request's error without what varies from one to the
// next (addresses, ports), so that equal causes add up.
func failure(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "no answer in time"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return "no answer in time"
	}
	return "request error"
}

// pause waits d or until ctx is done.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// copy returns another browser holding the same cookies as u, as someone
// who copied them would.
func (u *user) copy() (*user, error) {
	base, err := url.Parse(u.base)
	if err != nil {
		return nil, fmt.Errorf("crowd: %w", err)
	}
	c, err := newCrowdFrom(0, 1, u.base, u.client.Transport)
	if err != nil {
		return nil, err
	}
	c[0].name = u.name
	c[0].jar.SetCookies(base, u.jar.Cookies(base))
	return c[0], nil
}
