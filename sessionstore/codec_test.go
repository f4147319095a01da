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
