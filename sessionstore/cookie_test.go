package sessionstore

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// issuedIDs are IDs derived from fixed bytes, so that every fuzzing process
// agrees on which IDs were issued.
func issuedIDs() map[string]bool {
	ids := map[string]bool{}
	for _, seed := range []string{"alice", "bob", "carol"} {
		sum := sha256.Sum256([]byte(seed))
		ids[base64.RawURLEncoding.EncodeToString(sum[:])] = true
	}
	return ids
}

// FuzzDecodeCookie feeds arbitrary cookie values to the decoder: it must
// never panic, and never return an ID that was not signed by the keys.
func FuzzDecodeCookie(f *testing.F) {
	codec, err := newCookieCodec([][]byte{key2, key1}, 24*time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	issued := issuedIDs()
	for id := range issued {
		v, err := codec.encode(cookieName, id)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
		f.Add(v[:len(v)/2])
		f.Add(strings.ToUpper(v))
	}
	f.Add("")
	f.Add("|||")
	f.Add("MTcwMDAwMDAwMHxabTl2fGJhcg==")
	f.Add(strings.Repeat("A", 5000))
	f.Fuzz(func(t *testing.T, value string) {
		id, ok := codec.decode(cookieName, value)
		if !ok {
			if id != "" {
				t.Errorf("decode(%q) = %q, false; want no ID with false", value, id)
			}
			return
		}
		if !issued[id] {
			t.Errorf("decode(%q) = %q, an ID that was never issued", value, id)
		}
	})
}

func TestCookieCodec(t *testing.T) {
	codec, err := newCookieCodec([][]byte{key1}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id := newID()
	v, err := codec.encode(cookieName, id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, id) {
		t.Errorf("cookie %q shows the ID in clear; want it only base64 inside the signed value", v)
	}
	signedNonID, err := codec.codecs[0].Encode(cookieName, []byte("chosen-by-the-client"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cookie, value string
		wantOK              bool
	}{
		{"valid", cookieName, v, true},
		{"other name", "other", v, false},
		{"truncated", cookieName, v[:len(v)-3], false},
		{"signed but not an ID", cookieName, signedNonID, false},
		{"raw ID", cookieName, id, false},
	} {
		got, ok := codec.decode(tc.cookie, tc.value)
		if ok != tc.wantOK || (ok && got != id) {
			t.Errorf("%s: got %q, %v; want ok %v", tc.name, got, ok, tc.wantOK)
		}
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newID()
		if !validID(id) || seen[id] {
			t.Fatalf("got ID %q (valid %v, repeated %v), want a fresh valid one", id, validID(id), seen[id])
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", idLen-1) + "=", strings.Repeat("!", idLen), newID() + "A"} {
		if validID(bad) {
			t.Errorf("validID(%q) = true, want false", bad)
		}
	}
	if len(hashID("x")) != 64 {
		t.Errorf("got hashID of length %d, want 64 hex digits", len(hashID("x")))
	}
}

func TestConstructorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys [][]byte
		cfg  Config
		want string
	}{
		{"no keys", nil, Config{}, "no cookie signing key"},
		{"empty key", [][]byte{key1, {}}, Config{}, "key 2 of 2 is empty"},
		{"negative idle", [][]byte{key1}, Config{IdleTimeout: -time.Second}, "IdleTimeout -1s is negative"},
		{"negative lifetime", [][]byte{key1}, Config{Lifetime: -time.Second}, "Lifetime -1s is negative"},
		{"negative cap", [][]byte{key1}, Config{MaxSessions: -1}, "MaxSessions -1 is negative"},
		{"tiny lifetime", [][]byte{key1}, Config{Lifetime: time.Millisecond}, "too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewMemory(tc.keys, tc.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sessionstore: ") {
				t.Errorf("got %q, want sessionstore: ...%s...", err, tc.want)
			}
		})
	}
	if _, err := NewRedis(nil, [][]byte{key1}, Config{}); err == nil {
		t.Errorf("NewRedis(nil client): got no error, want one")
	}
}
