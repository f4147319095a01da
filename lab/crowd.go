package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"sync"
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
	client   *http.Client
	loggedIn bool // the user logged in and has not been seen logged out since
}

// sessionView is the part of GET /api/session a user looks at.
type sessionView struct {
	Instance string `json:"instance"`
	LoggedIn bool   `json:"logged_in"`
	User     string `json:"user"`
}

// tally is what one user saw in one phase.
type tally struct {
	loggedOut bool            // seen logged out at least once
	failed    int             // requests without a 2xx answer
	requests  int             // requests sent, logins included
	answered  int             // GET /api/session requests answered
	served    map[string]bool // instances that answered
}

// newCrowd makes n users who share one transport (connections to the
// balancer are reused, as a browser would; the cookies are per user).
func newCrowd(n int, base string, transport http.RoundTripper) ([]*user, error) {
	users := make([]*user, n)
	for i := range users {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("crowd: %w", err)
		}
		users[i] = &user{
			name:   fmt.Sprintf("user-%02d", i+1),
			base:   base,
			client: &http.Client{Jar: jar, Transport: transport, Timeout: requestTimeout},
		}
	}
	return users, nil
}

// phase has every user make `answers` answered requests to GET
// /api/session, all users at once, and returns what each saw, in user
// order. A user who answers logged out (logged_in false, or someone else's
// session) after having logged in is counted once for the phase and logs in
// again at once, so that the next phase starts logged in.
func phase(ctx context.Context, users []*user, answers int) []tally {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	out := make([]tally, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() { out[i] = u.browse(ctx, answers) })
	}
	wg.Wait()
	return out
}

// login logs every user in, all at once, and returns what each saw.
func loginAll(ctx context.Context, users []*user) []tally {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	out := make([]tally, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			out[i] = tally{served: map[string]bool{}}
			u.login(ctx, &out[i])
		})
	}
	wg.Wait()
	return out
}

func (u *user) browse(ctx context.Context, answers int) tally {
	t := tally{served: map[string]bool{}}
	for got := 0; got < answers && ctx.Err() == nil; {
		var s sessionView
		if !u.do(ctx, &t, http.MethodGet, "/api/session", nil, &s) {
			pause(ctx, retryPause)
			continue
		}
		got++
		t.answered++
		if s.LoggedIn && s.User == u.name {
			continue
		}
		if u.loggedIn {
			t.loggedOut = true
			u.loggedIn = false
		}
		u.login(ctx, &t)
	}
	return t
}

// login logs the user in, retrying failures like browse does.
func (u *user) login(ctx context.Context, t *tally) {
	body, _ := json.Marshal(map[string]string{"username": u.name})
	for ctx.Err() == nil {
		var s sessionView
		if u.do(ctx, t, http.MethodPost, "/api/login", body, &s) {
			u.loggedIn = true
			return
		}
		pause(ctx, retryPause)
	}
}

// do sends one request and decodes its JSON answer into v. It returns false
// and counts a failure when there is no 2xx answer.
func (u *user) do(ctx context.Context, t *tally, method, path string, body []byte, v *sessionView) bool {
	t.requests++
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, bytes.NewReader(body))
	if err != nil {
		t.failed++
		return false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := u.client.Do(req)
	if err != nil {
		t.failed++
		return false
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode/100 != 2 || json.Unmarshal(data, v) != nil {
		t.failed++
		return false
	}
	if v.Instance != "" {
		t.served[v.Instance] = true
	}
	return true
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
