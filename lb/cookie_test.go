package lb

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func identity(b []byte) string { return string(b) }

func TestCookieRoundTripAndRotation(t *testing.T) {
	oldKey := bytes.Repeat([]byte{1}, 16)
	newKey := bytes.Repeat([]byte{2}, 32)
	before, _ := newCookieCodec([][]byte{oldKey})
	after, _ := newCookieCodec([][]byte{newKey, oldKey})
	dropped, _ := newCookieCodec([][]byte{newKey})
	v := stickyValue{deadline: 1_900_000_000, client: 0xdeadbeef, target: "app-1"}

	cases := []struct {
		name        string
		seal, open  *cookieCodec
		sealPurpose byte
		openPurpose byte
		wantOK      bool
	}{
		{"same key", before, before, purposeDuration, purposeDuration, true},
		{"previous key still accepted after rotation", before, after, purposeDuration, purposeDuration, true},
		{"new key", after, after, purposeApp, purposeApp, true},
		{"new key unknown to the old codec", after, before, purposeDuration, purposeDuration, false},
		{"previous key dropped", before, dropped, purposeDuration, purposeDuration, false},
		{"other purpose", before, before, purposeApp, purposeDuration, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			value := string(tc.seal.appendSeal(nil, tc.sealPurpose, v))
			got, ok := tc.open.open(value, tc.openPurpose, identity)
			if ok != tc.wantOK {
				t.Fatalf("open ok = %v, want %v", ok, tc.wantOK)
			}
			if ok && got != v {
				t.Errorf("open = %+v, want %+v", got, v)
			}
		})
	}
	a, b := string(before.appendSeal(nil, purposeDuration, v)), string(before.appendSeal(nil, purposeDuration, v))
	if a == b {
		t.Errorf("two seals of one value are equal (%q): the nonce must be random", a)
	}
	if strings.ContainsAny(a, "+/=") {
		t.Errorf("value %q is not unpadded base64url", a)
	}
}

// TestCookieOneSpelling: a value whose last character differs only in the
// bits base64 ignores does not open.
func TestCookieOneSpelling(t *testing.T) {
	c, _ := newCookieCodec(nil)
	value := string(c.appendSeal(nil, purposeDuration, stickyValue{deadline: 1, client: 1, target: "a"}))
	want, _ := base64.RawURLEncoding.DecodeString(value)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tried := 0
	for _, ch := range alphabet {
		alt := value[:len(value)-1] + string(ch)
		if got, err := base64.RawURLEncoding.DecodeString(alt); alt == value || err != nil || !bytes.Equal(got, want) {
			continue
		}
		tried++
		if _, ok := c.open(alt, purposeDuration, identity); ok {
			t.Errorf("non-canonical spelling %q opened", alt)
		}
	}
	for _, alt := range []string{value[:10] + "\r\n" + value[10:], value + "\n"} {
		tried++
		if _, ok := c.open(alt, purposeDuration, identity); ok {
			t.Errorf("value with a line break %q opened", alt)
		}
	}
	if tried < 3 {
		t.Errorf("only %d other spellings tried", tried)
	}
}

func TestCookieLongestName(t *testing.T) {
	c, _ := newCookieCodec(nil)
	v := stickyValue{deadline: time.Now().UnixMilli(), client: 1, target: strings.Repeat("n", maxTargetName)}
	value := string(c.appendSeal(nil, purposeDuration, v))
	if len(value) > maxCookieValue {
		t.Fatalf("value of %d characters, more than maxCookieValue %d", len(value), maxCookieValue)
	}
	if got, ok := c.open(value, purposeDuration, identity); !ok || got != v {
		t.Errorf("open = %+v, %v; want %+v", got, ok, v)
	}
}

// FuzzDecodeCookie: whatever a client sends, opening never panics, and what
// opens is only what this key sealed (the one value below, sealed again in
// each fuzz process with another nonce), spelled canonically.
func FuzzDecodeCookie(f *testing.F) {
	c, _ := newCookieCodec([][]byte{bytes.Repeat([]byte{7}, 32)})
	sealed := stickyValue{deadline: 1_900_000_000, client: 9, target: "app-2"}
	valid := string(c.appendSeal(nil, purposeDuration, sealed))
	for _, seed := range []string{"", "A", valid, valid[:len(valid)-1], valid + "A", strings.Repeat("_", maxCookieValue), "app-2", "====", "\x00\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		got, ok := c.open(value, purposeDuration, identity)
		if !ok {
			if got != (stickyValue{}) {
				t.Errorf("failed open returned %+v", got)
			}
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(value)
		if got != sealed || err != nil || base64.RawURLEncoding.EncodeToString(raw) != value {
			t.Errorf("value %q opened to %+v: not the sealed %+v in its one spelling", value, got, sealed)
		}
	})
}
