package sessionstore_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"stickylab/sessionstore"
)

// addToCart is how a handler changes a session without losing concurrent
// updates: on ErrConflict it loads the session again with New and re-applies
// its change. Each retry follows a write by someone else, so the loop ends.
func addToCart(store *sessionstore.Store, w http.ResponseWriter, r *http.Request, item string) error {
	for {
		sess, err := store.New(r, "stickylab_session")
		if err != nil {
			return err // wraps ErrUnavailable: answer 503, write nothing
		}
		cart, _ := sess.Values["cart"].([]any) // JSON: a []any after a load
		sess.Values["cart"] = append(cart, item)
		sess.Options.Secure = r.TLS != nil
		err = store.Save(r, w, sess)
		if !errors.Is(err, sessionstore.ErrConflict) {
			return err
		}
	}
}

func Example() {
	key := []byte("use 32 random bytes, newest first")
	store, err := sessionstore.NewMemory([][]byte{key}, sessionstore.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	// The first request has no cookie: the session is new, and gets its ID
	// when it is saved with something in it.
	w := httptest.NewRecorder()
	if err := addToCart(store, w, httptest.NewRequest("POST", "/cart", nil), "tea"); err != nil {
		panic(err)
	}
	cookie := w.Result().Cookies()[0]
	fmt.Println(cookie.Name, cookie.HttpOnly, cookie.SameSite == http.SameSiteLaxMode)

	// The next request brings the cookie back.
	r := httptest.NewRequest("POST", "/cart", nil)
	r.AddCookie(cookie)
	if err := addToCart(store, httptest.NewRecorder(), r, "milk"); err != nil {
		panic(err)
	}
	sess, _ := store.Get(r, "stickylab_session")
	fmt.Println(sess.Values["cart"])

	// Login: a new ID, and the old one no longer works.
	store.Renew(sess)
	sess.Values["user"] = "alice"
	if err := store.Save(r, httptest.NewRecorder(), sess); err != nil {
		panic(err)
	}
	old, _ := store.New(r, "stickylab_session")
	fmt.Println(old.IsNew)
	// Output:
	// stickylab_session true true
	// [tea milk]
	// true
}
