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

// TestLastWriterWins shows the lost updates that compare-and-set prevents:
// n additions to one cart, each loaded before any is saved, as n requests
// that arrive together. With compare-and-set every addition survives (the
// losers reload and re-apply); with Config.LastWriterWins every save
// succeeds and the last one leaves its own item alone in the cart.
func TestLastWriterWins(t *testing.T) {
	const n = 20
	tests := []struct {
		name      string
		lww       bool
		wantItems int
	}{
		{"compare-and-set", false, n},
		{"last writer wins", true, 1},
	}
	for _, k := range backendKinds() {
		for _, tc := range tests {
			t.Run(k.name+"/"+tc.name, func(t *testing.T) {
				e := k.make(t, Config{LastWriterWins: tc.lww})
				c, _ := stored(t, e.store, map[string]any{"cart": []string{}})
				var loaded, wg sync.WaitGroup
				loaded.Add(n)
				errs := make(chan error, n)
				for i := range n {
					wg.Go(func() {
						item := fmt.Sprintf("item-%02d", i)
						for attempt := 0; attempt < n; attempt++ {
							sess, err := e.store.New(request(c), cookieName)
							if attempt == 0 {
								// Every request has loaded before any saves.
								loaded.Done()
								loaded.Wait()
							}
							if err != nil {
								errs <- err
								return
							}
							cart, _ := sess.Values["cart"].([]any)
							sess.Values["cart"] = append(cart, item)
							if _, err = save(e.store, sess); !errors.Is(err, ErrConflict) {
								if err != nil {
									errs <- err
								}
								return
							}
						}
						errs <- fmt.Errorf("%s: still conflicting after %d attempts", item, n)
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				cart, _ := load(t, e.store, c).Values["cart"].([]any)
				if len(cart) != tc.wantItems {
					t.Errorf("got %d items after %d concurrent additions, want %d: %v", len(cart), n, tc.wantItems, cart)
				}
			})
		}
	}
}
