package sessionstore

import (
	"encoding/json"
	"fmt"
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
