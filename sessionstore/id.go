package sessionstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// idBytes is the size of a session ID: 256 bits from crypto/rand, so that
// IDs can be neither guessed nor enumerated.
const idBytes = 32

// idLen is the length of an ID in its text form (unpadded base64url).
var idLen = base64.RawURLEncoding.EncodedLen(idBytes)

// newID returns a fresh random session ID in unpadded base64url.
func newID() string {
	var b [idBytes]byte
	// crypto/rand.Read never returns an error since Go 1.24; it crashes the
	// program rather than hand out predictable bytes.
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validID reports whether id has the shape newID gives: anything else in a
// cookie (even a correctly signed one) is not a session this store issued.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	var b [idBytes]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(id))
	return err == nil && n == idBytes
}

// hashID is the name under which a backend keeps the session id: the hex
// SHA-256 of the ID. A copy of the backend's keys cannot be turned back into
// cookies, because the ID cannot be recovered from its hash.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
