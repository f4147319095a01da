package sessionstore

import (
	"context"
	"time"
)

// migrating is the backend of a store made with Config.MigrateFrom: to
// first, from second. A session that to lacks and from has is written to to
// (same ID, same record, same version) and then removed from from, so the
// move logs nobody out and happens once per session, on its first load.
// Writes go to to only; removals to both, so that a logout or a renewal
// leaves no copy behind in from.
type migrating struct {
	to, from backend
	expiry   func(deadline, now time.Time) time.Time // Config.expiry of to
	moved    func()                                  // counts one session moved; never nil
}

var _ backend = (*migrating)(nil)

func (m *migrating) load(ctx context.Context, id string, now time.Time) ([]byte, error) {
	b, err := m.to.load(ctx, id, now)
	if err != nil || b != nil {
		return b, err
	}
	old, err := m.from.load(ctx, id, now)
	if err != nil || old == nil {
		return nil, err
	}
	rec, err := decodeRecord(old)
	if err != nil {
		return nil, nil // not ours: unknown, as in Store.decode
	}
	deadline := time.UnixMilli(rec.Deadline)
	moving, err := rec.withExpires(m.expiry(deadline, now)) // from's expires is not kept up to date
	if err != nil {
		return nil, err
	}
	ok, err := m.to.write(ctx, id, 0, false, moving, 0, deadline, now)
	if err != nil {
		return nil, err // from keeps it: the next load tries again
	}
	if !ok {
		// Someone wrote it to to since our load (another request of this
		// instance moving it too): that copy is the session now.
		return m.to.load(ctx, id, now)
	}
	m.from.remove(ctx, id, 0)
	m.moved()
	return moving, nil
}

func (m *migrating) write(ctx context.Context, id string, prev uint64, force bool, rec []byte, rank int, deadline, now time.Time) (bool, error) {
	return m.to.write(ctx, id, prev, force, rec, rank, deadline, now)
}

func (m *migrating) remove(ctx context.Context, id string, prev uint64) (bool, error) {
	ok, err := m.to.remove(ctx, id, prev)
	if err != nil {
		return false, err
	}
	old, _ := m.from.remove(ctx, id, prev)
	return ok || old, nil
}

func (m *migrating) ping(ctx context.Context) error { return m.to.ping(ctx) }
