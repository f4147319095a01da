package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"

	"github.com/gorilla/sessions"
)

// The session values. The stores keep them as JSON, so after a load numbers
// are float64 and lists []any: read them only through the accessors below.
const (
	keyUser   = "user"
	keyVisits = "visits"
	keyCart   = "cart"
)

// maxCartItems bounds a cart, and so the size of a session in the store.
const maxCartItems = 100

// sessionView is the JSON of /api/session and of the answers of the other
// /api/ routes: the session after the request. User is "" when logged out;
// Cart is never null.
type sessionView struct {
	Instance string   `json:"instance"`
	Store    string   `json:"store"`
	LoggedIn bool     `json:"logged_in"`
	User     string   `json:"user"`
	Visits   int      `json:"visits"`
	Cart     []string `json:"cart"`
}

func (a *App) viewOf(s *sessions.Session) sessionView {
	u := sessionUser(s)
	return sessionView{
		Instance: a.name,
		Store:    a.currentStore().Mode(),
		LoggedIn: u != "",
		User:     u,
		Visits:   sessionVisits(s),
		Cart:     sessionCart(s),
	}
}

func sessionUser(s *sessions.Session) string {
	u, _ := s.Values[keyUser].(string)
	return u
}

func sessionVisits(s *sessions.Session) int {
	switch v := s.Values[keyVisits].(type) {
	case int:
		return max(v, 0)
	case float64:
		if math.IsNaN(v) || v < 0 || v > 1<<53 {
			return 0
		}
		return int(v)
	}
	return 0
}

// sessionCart returns a copy of the cart, never nil.
func sessionCart(s *sessions.Session) []string {
	cart := []string{}
	switch v := s.Values[keyCart].(type) {
	case []string:
		cart = append(cart, v...)
	case []any:
		for _, item := range v {
			if str, ok := item.(string); ok {
				cart = append(cart, str)
			}
		}
	}
	return cart
}

func countVisit(s *sessions.Session) { s.Values[keyVisits] = sessionVisits(s) + 1 }

func addToCart(s *sessions.Session, item string) error {
	cart := sessionCart(s)
	if len(cart) >= maxCartItems {
		return &clientError{http.StatusConflict, fmt.Sprintf("cart is full: at most %d items", maxCartItems)}
	}
	s.Values[keyCart] = append(cart, item)
	return nil
}

// fingerprint is a short hash of the session ID that the page shows so that
// a learner can see the ID change at login. It does not reveal the ID: the
// store keys its data by a hash of the ID as well, but a different one.
func fingerprint(s *sessions.Session) string {
	if s.ID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("stickylab fingerprint\x00" + s.ID))
	return hex.EncodeToString(sum[:4])
}
