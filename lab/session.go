package lab

import (
	"crypto/rand"
	"encoding/hex"
)

// AppCookie is the application's session cookie: the name the lab gives its
// instances (-cookie-name) and the one app stickiness follows.
const AppCookie = "stickylab_session"

// newSessionKey returns a random 256-bit session cookie key, hex-encoded,
// for the instances of one lab run to share: with a shared store, a session
// written by one instance must verify on the others.
func newSessionKey() string {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand, Go 1.24)
	return hex.EncodeToString(key)
}
