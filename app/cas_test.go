package app

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/gorilla/sessions"

	"stickylab/sessionstore"
)

// loadBarrier is a store whose next n loads once armed all wait until n
// have happened, as n requests that arrive together; other loads (before,
// and retries after a conflict) go through.
type loadBarrier struct {
	Store
	mu      sync.Mutex // protects waiting and all
	waiting int
	all     chan struct{} // closed once n loads have begun
}

// arm makes the next n loads wait for each other.
func (b *loadBarrier) arm(n int) {
	b.mu.Lock()
	b.waiting, b.all = n, make(chan struct{})
	b.mu.Unlock()
}

func (b *loadBarrier) New(r *http.Request, name string) (*sessions.Session, error) {
	s, err := b.Store.New(r, name)
	b.mu.Lock()
	first, all := b.waiting > 0, b.all
	if first {
		b.waiting--
		if b.waiting == 0 {
			close(all)
		}
	}
	b.mu.Unlock()
	if first {
		<-all
	}
	return s, err
}

// TestConcurrentCartWithoutCAS: n cart additions of one user that arrive
// together at an instance that does not serialise a session's requests
// (-cas=false turns that off too). With compare-and-set every item is kept;
// with last writer wins, as with -cas=false, one is.
func TestConcurrentCartWithoutCAS(t *testing.T) {
	const n = 10
	tests := []struct {
		name      string
		lww       bool
		wantItems int
	}{
		{"compare-and-set", false, n},
		{"last writer wins", true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem, err := sessionstore.NewMemory(testKeys, sessionstore.Config{LastWriterWins: tc.lww})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { mem.Close() })
			barrier := &loadBarrier{Store: mem}
			a, err := New(Config{Name: "app-1", NoSessionLock: true}, barrier)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(a)
			t.Cleanup(srv.Close)
			c := newClient(t)
			c.postJSON(srv.URL+"/api/login", `{"username":"ada"}`, http.StatusOK)
			barrier.arm(n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r := c.do(http.MethodPost, srv.URL+"/api/cart", "application/json", `{"item":"item-`+strconv.Itoa(i)+`"}`)
					if r.status != http.StatusOK {
						t.Errorf("item %d: got status %d, want 200; body %s", i, r.status, r.body)
					}
				})
			}
			wg.Wait()
			if got := len(c.session(srv.URL).Cart); got != tc.wantItems {
				t.Errorf("got %d items after %d concurrent additions, want %d", got, n, tc.wantItems)
			}
		})
	}
}
