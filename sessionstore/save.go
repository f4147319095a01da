package sessionstore

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
)

// Save stores sess and sets its cookie on w.
//
//   - Unchanged values (compared as JSON with what was loaded): nothing is
//     written, since the load already slid the idle expiry; only the cookie
//     is sent again.
//   - A new session without values is not stored and gets no cookie.
//   - Changed values are written once, with compare-and-set on the version
//     that was loaded; if someone else wrote the session since, or it
//     expired, nothing is written and the error is ErrConflict.
//   - After Renew, the values go under a fresh ID and the old ID is deleted.
//   - sess.Options.MaxAge < 0 deletes the session from the backend, expires
//     the cookie and empties sess.Values.
//
// A session whose load failed is never saved: the error wraps
// ErrUnavailable, like every backend failure. sess.Options (Secure in
// particular) are used for the cookie as they are at the time of Save; a
// positive MaxAge is shortened so the cookie ends with the session's
// deadline.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	st := s.states.of(sess)
	if st.failed != nil {
		s.cfg.Metrics.failure(s.mode, "save")
		return fmt.Errorf("sessionstore: not saving a session whose load failed: %w", st.failed)
	}
	opts := s.options
	if sess.Options != nil {
		opts = *sess.Options
	}
	if opts.MaxAge < 0 {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
		defer cancel()
		return s.destroy(ctx, w, sess, st, opts)
	}
	values, err := encodeValues(sess.Values)
	if err != nil {
		return err
	}
	now := s.cfg.now()
	switch {
	case st.version > 0 && !st.renew && bytes.Equal(values, st.values):
		s.cfg.Metrics.save(s.mode, "unchanged")
		return s.setCookie(w, sess, st, opts, now)
	case st.version == 0 && len(sess.Values) == 0:
		s.cfg.Metrics.save(s.mode, "empty")
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	if err := s.write(ctx, st, values, s.cfg.rank(sess.Values), now); err != nil {
		return err
	}
	sess.ID = st.id
	sess.IsNew = false
	return s.setCookie(w, sess, st, opts, now)
}

// write stores values for st: in place with compare-and-set, or under a new
// ID for a new or renewed session. On success st describes what is stored.
func (s *Store) write(ctx context.Context, st *state, values []byte, rank int, now time.Time) error {
	created, deadline := st.created, st.deadline
	if st.version == 0 {
		created, deadline = now, now.Add(s.cfg.Lifetime)
	}
	if !now.Before(deadline) {
		// Past the absolute lifetime since the load: the session is over.
		s.cfg.Metrics.conflict(s.mode)
		return ErrConflict
	}
	id, prev := st.id, st.version
	renewing := st.renew && st.version > 0
	if st.version == 0 || st.renew {
		id, prev = newID(), 0
	}
	rec, err := encodeRecord(prev+1, created, deadline, s.cfg.expiry(deadline, now), values)
	if err != nil {
		return err
	}
	start := time.Now()
	force := s.cfg.LastWriterWins && prev > 0
	ok, err := s.be.write(ctx, id, prev, force, rec, rank, deadline, now)
	s.cfg.Metrics.observe(s.mode, "write", start)
	if err != nil {
		s.cfg.Metrics.failure(s.mode, "save")
		return fmt.Errorf("%w: save session: %w", ErrUnavailable, err)
	}
	if !ok {
		s.cfg.Metrics.conflict(s.mode)
		return ErrConflict
	}
	if renewing {
		// The new ID is written first, so that a failure here leaves the
		// old session intact; the old one goes only if nobody changed it.
		start := time.Now()
		ok, err := s.be.remove(ctx, st.id, st.version)
		s.cfg.Metrics.observe(s.mode, "remove", start)
		if err != nil || !ok {
			// Best effort: the orphan has no cookie and expires with its TTL.
			s.be.remove(ctx, id, 1)
			if err != nil {
				s.cfg.Metrics.failure(s.mode, "save")
				return fmt.Errorf("%w: delete renewed session: %w", ErrUnavailable, err)
			}
			s.cfg.Metrics.conflict(s.mode)
			return ErrConflict
		}
		s.cfg.Metrics.save(s.mode, "renewed")
	} else {
		s.cfg.Metrics.save(s.mode, "written")
	}
	*st = state{id: id, version: prev + 1, created: created, deadline: deadline, values: values}
	return nil
}

// destroy deletes the session from the backend and expires its cookie.
func (s *Store) destroy(ctx context.Context, w http.ResponseWriter, sess *sessions.Session, st *state, opts sessions.Options) error {
	if st.id != "" {
		start := time.Now()
		_, err := s.be.remove(ctx, st.id, 0)
		s.cfg.Metrics.observe(s.mode, "remove", start)
		if err != nil {
			s.cfg.Metrics.failure(s.mode, "delete")
			return fmt.Errorf("%w: delete session: %w", ErrUnavailable, err)
		}
	}
	*st = state{}
	sess.ID = ""
	sess.IsNew = true
	clear(sess.Values)
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(sess.Name(), "", &opts))
	s.cfg.Metrics.save(s.mode, "deleted")
	return nil
}

// setCookie sends the signed ID of the stored session st.
func (s *Store) setCookie(w http.ResponseWriter, sess *sessions.Session, st *state, opts sessions.Options, now time.Time) error {
	v, err := s.cookies.encode(sess.Name(), st.id)
	if err != nil {
		return err
	}
	if opts.MaxAge > 0 {
		left := int(st.deadline.Sub(now) / time.Second)
		opts.MaxAge = max(1, min(opts.MaxAge, left))
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), v, &opts))
	return nil
}
