package sessionstore

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMemorySmoke(t *testing.T) {
	s, err := NewMemory([][]byte{[]byte("0123456789abcdef0123456789abcdef")}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := httptest.NewRequest("GET", "/", nil)
	sess, err := s.Get(r, "sid")
	if err != nil || !sess.IsNew {
		t.Fatalf("got %v, %v", sess, err)
	}
	sess.Values["user"] = "alice"
	w := httptest.NewRecorder()
	if err := s.Save(r, w, sess); err != nil {
		t.Fatal(err)
	}
	r2 := httptest.NewRequest("GET", "/", nil)
	for _, c := range w.Result().Cookies() {
		r2.AddCookie(c)
	}
	sess2, err := s.New(r2, "sid")
	if err != nil || sess2.IsNew || sess2.Values["user"] != "alice" {
		t.Fatalf("got %+v, %v", sess2, err)
	}
	_ = http.StatusOK
}
