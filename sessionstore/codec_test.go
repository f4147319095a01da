package sessionstore

import (
	"testing"
	"time"
)

// TestDecodeRejects checks that a record the store cannot trust is treated
// as unknown (a fresh session), whichever backend returned it.
func TestDecodeRejects(t *testing.T) {
	e := newMemoryEnv(t, Config{})
	now := e.clock.now()
	good, err := encodeRecord(3, now.Add(-time.Hour), now.Add(time.Hour), now.Add(time.Minute), []byte(`{"user":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	past, err := encodeRecord(3, now.Add(-25*time.Hour), now.Add(-time.Hour), now.Add(-time.Hour), []byte(`{"user":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rec  string
		ok   bool
	}{
		{"good", string(good), true},
		{"past its deadline", string(past), false},
		{"not JSON", "not json", false},
		{"no version", `{"created":1,"deadline":9999999999999,"values":{}}`, false},
		{"values not an object", `{"version":1,"created":1,"deadline":9999999999999,"values":[1]}`, false},
		{"no values", `{"version":1,"created":1,"deadline":9999999999999}`, false},
		{"values with a bad member", `{"version":1,"created":1,"deadline":9999999999999,"values":{"a":}}`, false},
	} {
		rec, values, ok := e.store.decode([]byte(tc.rec), now)
		if ok != tc.ok {
			t.Errorf("%s: got ok %v, want %v", tc.name, ok, tc.ok)
		}
		if ok && (rec.Version != 3 || values["user"] != "alice") {
			t.Errorf("%s: got version %d values %v, want 3 and alice", tc.name, rec.Version, values)
		}
	}
}

// TestRecordHeader: recordHeader reads what decodeRecord reads off every
// record encodeRecord writes, with and without expires.
func TestRecordHeader(t *testing.T) {
	now := time.UnixMilli(1732670000123)
	for _, expires := range []time.Time{now.Add(time.Minute), time.UnixMilli(0)} {
		b, err := encodeRecord(42, now.Add(-time.Hour), now.Add(time.Hour), expires, []byte(`{"cart":["tea"],"user":"alice"}`))
		if err != nil {
			t.Fatal(err)
		}
		v, deadline, exp, ok := recordHeader(b)
		rec, err := decodeRecord(b)
		if err != nil || !ok || v != rec.Version || deadline != rec.Deadline || exp != rec.Expires {
			t.Errorf("%s: got %d %d %d %v, want %+v (%v)", b, v, deadline, exp, ok, rec, err)
		}
	}
}

// FuzzRecordHeader: whatever recordHeader accepts, decodeRecord reads the
// same version, deadline and expires from it, or refuses it as a whole.
func FuzzRecordHeader(f *testing.F) {
	f.Add([]byte(`{"version":3,"created":1,"deadline":2,"expires":3,"values":{}}`))
	f.Add([]byte(`{"version":3,"created":-1,"deadline":2,"values":{"a":1}}`))
	f.Add([]byte(`{"version":3,"created":1,"deadline":2,"expires":3,"values":{"a":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, deadline, exp, ok := recordHeader(b)
		if !ok {
			return
		}
		rec, err := decodeRecord(b)
		if err != nil {
			return // a broken tail: Store.decode refuses it
		}
		if v != rec.Version || deadline != rec.Deadline || exp != rec.Expires {
			t.Errorf("%q: recordHeader read %d %d %d, decodeRecord %+v", b, v, deadline, exp, rec)
		}
	})
}
