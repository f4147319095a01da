package sessionstore

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// cookieCodec signs and verifies the session cookie. The cookie carries only
// the session ID, authenticated with HMAC-SHA256 under the newest key; all
// keys verify, so that keys can be rotated without logging everyone out. The
// ID is not encrypted: it reveals nothing but itself, and it is a bearer
// token either way.
type cookieCodec struct {
	codecs []securecookie.Codec
}

// newCookieCodec builds the codec for keys, newest first. maxAge bounds the
// age of the signed timestamp securecookie puts in the cookie.
func newCookieCodec(keys [][]byte, maxAge time.Duration) (*cookieCodec, error) {
	if len(keys) == 0 {
		return nil, errors.New("sessionstore: no cookie signing key")
	}
	codecs := make([]securecookie.Codec, len(keys))
	for i, k := range keys {
		if len(k) == 0 {
			return nil, fmt.Errorf("sessionstore: cookie signing key %d of %d is empty", i+1, len(keys))
		}
		// A nil block key means no encryption; the default hash is SHA-256.
		sc := securecookie.New(k, nil)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(int((maxAge + time.Second - 1) / time.Second))
		codecs[i] = sc
	}
	return &cookieCodec{codecs: codecs}, nil
}

// encode signs id for the cookie called name with the newest key.
func (c *cookieCodec) encode(name, id string) (string, error) {
	v, err := securecookie.EncodeMulti(name, []byte(id), c.codecs[0])
	if err != nil {
		return "", fmt.Errorf("sessionstore: sign cookie: %w", err)
	}
	return v, nil
}

// decode returns the ID in the cookie value, or ok=false when the value was
// not signed by one of the keys for this cookie name, is too old, or does not
// hold an ID of the shape this package issues. A bad cookie is treated as no
// cookie, so there is no error to return.
func (c *cookieCodec) decode(name, value string) (id string, ok bool) {
	var b []byte
	if err := securecookie.DecodeMulti(name, value, &b, c.codecs...); err != nil {
		return "", false
	}
	id = string(b)
	if !validID(id) {
		return "", false
	}
	return id, true
}

// defaultOptions are the cookie options every session starts with. The app
// sets Secure per request, when it knows whether the client used HTTPS.
func defaultOptions(lifetime time.Duration) sessions.Options {
	return sessions.Options{
		Path:     "/",
		MaxAge:   int(lifetime / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}
