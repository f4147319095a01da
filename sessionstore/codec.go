package sessionstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// record is what a backend keeps for one session, as JSON that redis-cli GET
// shows as it is:
//
//	{"version":3,"created":1732670000000,"deadline":1732756400000,"expires":1732671980000,"values":{"cart":["tea"],"user":"alice"}}
//
// The field order is part of the format: the Redis scripts read version and
// deadline with an anchored pattern instead of decoding the whole document.
// Times are Unix milliseconds. A record written before expires existed has
// none (0); Redis reads it as due for a touch (see Config.IdleGrace).
type record struct {
	Version  uint64          `json:"version"`           // 1 on the first write, +1 on every write
	Created  int64           `json:"created"`           // when the session was first stored
	Deadline int64           `json:"deadline"`          // absolute end of the session: created + Lifetime
	Expires  int64           `json:"expires,omitempty"` // end of the idle timeout as last extended (Redis reads it; memory keeps its own)
	Values   json.RawMessage `json:"values"`            // the session's values, a JSON object
}

// encodeRecord returns the JSON of a record.
func encodeRecord(version uint64, created, deadline, expires time.Time, values []byte) ([]byte, error) {
	b, err := json.Marshal(record{
		Version:  version,
		Created:  created.UnixMilli(),
		Deadline: deadline.UnixMilli(),
		Expires:  expires.UnixMilli(),
		Values:   values,
	})
	if err != nil {
		return nil, fmt.Errorf("sessionstore: encode record: %w", err)
	}
	return b, nil
}

// withExpires returns rec with its idle expiry set to expires.
func (rec record) withExpires(expires time.Time) ([]byte, error) {
	return encodeRecord(rec.Version, time.UnixMilli(rec.Created), time.UnixMilli(rec.Deadline), expires, rec.Values)
}

// recordHeader reads version, deadline and expires off the start of a
// record as encodeRecord writes it, without decoding the values: what a
// Redis load needs on every request, cache hit or not. ok=false for
// anything else (decodeRecord is then the judge). expires is 0 when the
// record has none.
func recordHeader(b []byte) (version uint64, deadline, expires int64, ok bool) {
	field := func(name string) (int64, bool) {
		if !bytes.HasPrefix(b, []byte(name)) {
			return 0, false
		}
		b = b[len(name):]
		i := 0
		if i < len(b) && b[i] == '-' {
			i++
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == 0 || i >= len(b) || b[i] != ',' {
			return 0, false
		}
		n, err := strconv.ParseInt(string(b[:i]), 10, 64)
		b = b[i+1:]
		return n, err == nil
	}
	v, ok1 := field(`{"version":`)
	_, ok2 := field(`"created":`)
	deadline, ok3 := field(`"deadline":`)
	if !ok1 || !ok2 || !ok3 || v <= 0 {
		return 0, 0, 0, false
	}
	if bytes.HasPrefix(b, []byte(`"expires":`)) {
		if expires, ok = field(`"expires":`); !ok {
			return 0, 0, 0, false
		}
	}
	if !bytes.HasPrefix(b, []byte(`"values":{`)) {
		return 0, 0, 0, false
	}
	return uint64(v), deadline, expires, true
}

// decodeRecord parses a record a backend returned.
func decodeRecord(b []byte) (record, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return record{}, fmt.Errorf("sessionstore: decode record: %w", err)
	}
	if rec.Version == 0 || len(rec.Values) == 0 || rec.Values[0] != '{' {
		return record{}, fmt.Errorf("sessionstore: decode record: no version or values")
	}
	return rec, nil
}

// encodeValues returns the JSON object of a session's values. Keys must be
// strings: JSON has no other kind. encoding/json sorts map keys, so equal
// values always give equal bytes, which is how Save sees that nothing
// changed.
func encodeValues(values map[any]any) ([]byte, error) {
	m := make(map[string]any, len(values))
	for k, v := range values {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("sessionstore: session value key %v is a %T, want a string", k, k)
		}
		m[ks] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: encode session values: %w", err)
	}
	return b, nil
}

// decodeValues fills a session's value map from its JSON object. Values come
// back as encoding/json makes them: numbers are float64, arrays []any,
// objects map[string]any.
func decodeValues(b []byte) (map[any]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("sessionstore: decode session values: %w", err)
	}
	values := make(map[any]any, len(m))
	for k, v := range m {
		values[k] = v
	}
	return values, nil
}
