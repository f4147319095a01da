package sessionstore

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
)

// TestConcurrentCartAdditions runs 50 concurrent "add an item to the cart"
// operations on one session, each the way the app does it: load, append,
// save, and on ErrConflict load again and re-apply. No update may be lost.
func TestConcurrentCartAdditions(t *testing.T) {
	for _, k := range backendKinds() {
		t.Run(k.name, func(t *testing.T) { concurrentCartAdditions(t, k.make(t, Config{})) })
	}
}

// concurrentCartAdditions is TestConcurrentCartAdditions on e's store.
func concurrentCartAdditions(t *testing.T, e *env) {
	const n = 50
	c, _ := stored(t, e.store, map[string]any{"cart": []string{}})
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		mu        sync.Mutex // protects conflicts and errs
		conflicts int
		errs      []error
	)
	for i := range n {
		wg.Go(func() {
			<-start
			item := fmt.Sprintf("item-%02d", i)
			// Each conflict means another addition won since this one
			// loaded, so n attempts always suffice.
			for attempt := 0; attempt < n; attempt++ {
				sess, err := e.store.New(request(c), cookieName)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				cart, _ := sess.Values["cart"].([]any)
				sess.Values["cart"] = append(cart, item)
				_, err = save(e.store, sess)
				if err == nil {
					return
				}
				mu.Lock()
				if errors.Is(err, ErrConflict) {
					conflicts++
					mu.Unlock()
					continue
				}
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			mu.Lock()
			errs = append(errs, fmt.Errorf("%s: still conflicting after %d attempts", item, n))
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	cart, _ := load(t, e.store, c).Values["cart"].([]any)
	got := make([]string, 0, len(cart))
	for _, v := range cart {
		got = append(got, fmt.Sprint(v))
	}
	sort.Strings(got)
	if len(got) != n {
		t.Fatalf("got %d items, want %d: %v", len(got), n, got)
	}
	for i, item := range got {
		if want := fmt.Sprintf("item-%02d", i); item != want {
			t.Fatalf("got item %d %q, want %q (all: %v)", i, item, want, got)
		}
	}
	t.Logf("%d additions, %d conflicts retried", n, conflicts)
}
