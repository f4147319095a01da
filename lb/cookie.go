package lb

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync"
)

// Cookie values are opaque and authenticated, like ALB's: AES-GCM over the
// target's name, the client's label and the stickiness deadline. A client can
// neither read which target it is bound to nor forge or extend a value; a
// value that does not open with one of the keys is treated as no cookie.
//
// Layout before base64url (no padding):
//
//	nonce (12 random bytes) | sealed(plaintext) | GCM tag (16 bytes)
//	plaintext = purpose (1) | deadline, unix milliseconds (8) | client (8) | target name
//
// The purpose byte keeps an AWSALB value from being replayed as AWSALBAPP-0
// and versions the layout.
const (
	purposeDuration byte = 0x11 // AWSALB and AWSALBCORS
	purposeApp      byte = 0x12 // AWSALBAPP-0

	nonceSize      = 12
	tagSize        = 16
	headerSize     = 1 + 8 + 8
	maxTargetName  = 64
	maxSealed      = nonceSize + headerSize + maxTargetName + tagSize
	maxCookieValue = (maxSealed*4 + 2) / 3 // base64url without padding

	// openBufSize holds the decoded value, the opened plaintext and a copy
	// of the encoded value, so that opening a cookie allocates nothing.
	openBufSize = 2*maxSealed + maxCookieValue
)

// cookieCodec seals and opens cookie values. It is safe for concurrent use.
type cookieCodec struct {
	aeads []cipher.AEAD // newest first: [0] seals, all open
	// strict rejects the non-canonical spellings of a value (other bits
	// in the last character), so that one sealed value has one spelling.
	strict *base64.Encoding
	bufs   sync.Pool // *[openBufSize]byte scratch: AEAD calls make stack buffers escape
}

func newCookieCodec(keys [][]byte) (*cookieCodec, error) {
	if len(keys) == 0 {
		k := make([]byte, 32)
		rand.Read(k)
		keys = [][]byte{k}
	}
	c := &cookieCodec{strict: base64.RawURLEncoding.Strict()}
	for i, k := range keys {
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("cookie key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("cookie key %d: %w", i+1, err)
		}
		c.aeads = append(c.aeads, aead)
	}
	c.bufs.New = func() any { return new([openBufSize]byte) }
	return c, nil
}

// stickyValue is what a cookie value carries.
type stickyValue struct {
	deadline int64  // unix milliseconds from which the value no longer binds
	client   uint64 // random label of the client, stable while it is sticky
	target   string // target name
}

// appendSeal appends the base64url cookie value for v to dst.
func (c *cookieCodec) appendSeal(dst []byte, purpose byte, v stickyValue) []byte {
	buf := c.bufs.Get().(*[openBufSize]byte)
	defer c.bufs.Put(buf)
	raw := buf[:maxSealed]
	name := v.target
	if len(name) > maxTargetName {
		name = name[:maxTargetName] // New refuses longer names; never overflow
	}
	rand.Read(raw[:nonceSize])
	pt := raw[nonceSize:nonceSize]
	pt = append(pt, purpose)
	pt = binary.BigEndian.AppendUint64(pt, uint64(v.deadline))
	pt = binary.BigEndian.AppendUint64(pt, v.client)
	pt = append(pt, name...)
	sealed := c.aeads[0].Seal(pt[:0], raw[:nonceSize], pt, nil)
	return base64.RawURLEncoding.AppendEncode(dst, raw[:nonceSize+len(sealed)])
}

// open decodes and authenticates value. It reports false for anything that
// is not a value this balancer sealed for purpose with one of its keys:
// forged, truncated, foreign, or of another purpose. It does not check the
// deadline: an expired value still names its client.
//
// intern maps the decoded name to the caller's copy of it, "" when the name
// is unknown, so that opening a value allocates nothing.
func (c *cookieCodec) open(value string, purpose byte, intern func(name []byte) string) (stickyValue, bool) {
	if len(value) < base64.RawURLEncoding.EncodedLen(nonceSize+headerSize+tagSize+1) || len(value) > maxCookieValue {
		return stickyValue{}, false
	}
	buf := c.bufs.Get().(*[openBufSize]byte)
	defer c.bufs.Put(buf)
	in := buf[2*maxSealed:][:copy(buf[2*maxSealed:], value)]
	n, err := c.strict.Decode(buf[:maxSealed], in)
	// Decode skips \r and \n; a value with them is not one we wrote.
	if err != nil || n != c.strict.DecodedLen(len(in)) {
		return stickyValue{}, false
	}
	nonce, sealed := buf[:nonceSize], buf[nonceSize:n]
	for _, aead := range c.aeads {
		// Open in place would destroy the ciphertext for the next key, so
		// each key opens into its own part of the scratch buffer.
		pt, err := aead.Open(buf[maxSealed:maxSealed], nonce, sealed, nil)
		if err != nil {
			continue
		}
		if len(pt) <= headerSize || pt[0] != purpose {
			return stickyValue{}, false
		}
		return stickyValue{
			deadline: int64(binary.BigEndian.Uint64(pt[1:9])),
			client:   binary.BigEndian.Uint64(pt[9:17]),
			target:   intern(pt[headerSize:]),
		}, true
	}
	return stickyValue{}, false
}
