package sessionstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	// errConnDown is what trackConn answers while it has no connection, or
	// could not send: the command was not sent, and the caller goes through
	// the go-redis client instead.
	errConnDown = errors.New("sessionstore: cache connection down")

	// errConnLost wraps the error of a connection that failed after the
	// command was sent: whether Redis ran it is unknown, so only a read may
	// be sent again elsewhere.
	errConnLost = errors.New("sessionstore: cache connection lost")
)

// trackConn is the cache's own connection to Redis: RESP3, with
//
//	CLIENT TRACKING ON NOLOOP
//
// so that Redis remembers the keys this connection reads and pushes an
// invalidation when any other connection changes one of them, and none for
// the changes this one makes. Every load that misses the cache and every
// write goes through it (the write script reads its key again after
// setting it, so that the key stays tracked), and one reader goroutine
// handles replies and pushes in the order Redis sent them: a reply's record
// is cached before any later invalidation of its key is read, so no
// invalidation can be overtaken.
//
// Why not go-redis's own client-side cache: it caches GET replies on its
// pooled connections, so a write by this instance (a script on another
// pooled connection) invalidates this instance's own copy, and the next
// load of a session that changes on every request (the visit counter) is a
// miss again; and a reply and an invalidation on different connections
// have no order. Why not BCAST tracking: NOLOOP does not hold for the
// changes a script makes in BCAST mode (Redis 7.0), so every write would
// invalidate the writer's own copy too.
//
// It redials when the connection fails, dropping the whole cache.
type trackConn struct {
	dial     func(ctx context.Context) (net.Conn, error)
	hello    []string // HELLO 3 [AUTH user pass] SETNAME ...
	db       int
	cache    *cache
	maxStale time.Duration
	timeout  time.Duration // dial, handshake, one write
	log      *slog.Logger
	counts   cacheCounts

	epoch time.Time    // base of the monotonic times below
	fresh atomic.Int64 // since epoch: when the newest PING answered on cur was sent
	cur   atomic.Pointer[respConn]

	stop chan struct{} // closed by close
	done chan struct{} // closed when run returns
}

// cacheCounts receives what the cache does, for Metrics.
type cacheCounts struct {
	invalidated func(n int) // entries dropped by invalidations
	reset       func()      // the connection was lost and the cache dropped
}

// newTrackConn returns the cache's connection for client, or nil when
// client is not a single server's (Sentinel's failover client, Cluster),
// where the store goes without a cache.
func newTrackConn(client redis.UniversalClient, c *cache, cfg Config, counts cacheCounts) *trackConn {
	rc, ok := client.(*redis.Client)
	if !ok {
		return nil
	}
	opt := rc.Options()
	if opt.Addr == "FailoverClient" || opt.Dialer == nil {
		return nil // go-redis's Sentinel client: the master moves
	}
	hello := []string{"HELLO", "3"}
	if opt.Password != "" {
		user := opt.Username
		if user == "" {
			user = "default"
		}
		hello = append(hello, "AUTH", user, opt.Password)
	}
	hello = append(hello, "SETNAME", "stickylab-session-cache")
	return &trackConn{
		dial:     func(ctx context.Context) (net.Conn, error) { return opt.Dialer(ctx, opt.Network, opt.Addr) },
		hello:    hello,
		db:       opt.DB,
		cache:    c,
		maxStale: cfg.Cache.MaxStale,
		timeout:  cfg.Timeout,
		log:      cfg.Logger,
		counts:   counts,
		epoch:    time.Now(),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// start runs the connection until close.
func (t *trackConn) start() {
	go func() {
		defer close(t.done)
		t.run()
	}()
}

// close stops the connection and waits for its goroutines.
func (t *trackConn) close() {
	close(t.stop)
	if rc := t.cur.Load(); rc != nil {
		rc.nc.Close()
	}
	<-t.done
}

func (t *trackConn) mono() int64 { return int64(time.Since(t.epoch)) }

// serving reports whether cached copies may be served now: the connection
// is up and answered a PING sent less than maxStale ago.
func (t *trackConn) serving() bool {
	return t.cur.Load() != nil && t.mono()-t.fresh.Load() <= int64(t.maxStale)
}

// run connects, reads until the connection fails, and starts again, until
// close. A server that refuses RESP3 or tracking turns the cache off for
// good.
func (t *trackConn) run() {
	const minBackoff, maxBackoff = 50 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		rc, err := t.connect()
		if err != nil {
			if permanent(err) {
				t.log.Warn("session cache off: Redis refuses client tracking; every load goes to Redis", "err", err)
				return
			}
			t.log.Warn("session cache: cannot connect; loads go to Redis meanwhile", "err", err, "retry_in", backoff)
			select {
			case <-t.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		t.cur.Store(rc)
		select {
		case <-t.stop: // close may have missed this connection
			rc.nc.Close()
		default:
		}
		t.log.Info("session cache: connected; serving cached sessions", "max_stale", t.maxStale)
		var wg sync.WaitGroup
		wg.Go(func() { t.heartbeat(rc) })
		err = t.read(rc)
		t.cur.Store(nil)
		n := t.cache.flush()
		wg.Wait()
		select {
		case <-t.stop:
			return
		default:
		}
		t.counts.reset()
		t.log.Warn("session cache: connection lost; cache dropped, loads go to Redis until it is back", "err", err, "dropped", n)
	}
}

// permanent says whether a handshake error means this server cannot do it
// (no RESP3, no CLIENT TRACKING), rather than a failure worth retrying.
func permanent(err error) bool {
	var re respError
	if !errors.As(err, &re) {
		return false
	}
	s := string(re)
	return strings.HasPrefix(s, "NOPROTO") || strings.Contains(strings.ToLower(s), "unknown")
}

// connect dials and sets the connection up for tracking.
func (t *trackConn) connect() (*respConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	nc, err := t.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	nc.SetDeadline(time.Now().Add(t.timeout))
	r := bufio.NewReaderSize(nc, 32<<10)
	setup := [][]string{t.hello}
	if t.db != 0 {
		setup = append(setup, []string{"SELECT", strconv.Itoa(t.db)})
	}
	setup = append(setup, []string{"CLIENT", "TRACKING", "ON", "NOLOOP"})
	var sent int64
	for _, args := range setup {
		sent = t.mono()
		if _, err := nc.Write(appendCommand(nil, args...)); err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: %w", args[0], err)
		}
		v, err := readResp(r)
		if err == nil {
			if re, ok := v.(respError); ok {
				err = re
			}
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: %w", strings.Join(args[:min(2, len(args))], " "), err)
		}
	}
	nc.SetDeadline(time.Time{})
	// Tracking was on before its reply was sent: a change from then on to a
	// key read from then on will be pushed to us.
	t.fresh.Store(sent)
	return &respConn{nc: nc, r: r, timeout: t.timeout, pending: make(chan *call, 4096), deadCh: make(chan struct{})}, nil
}

// heartbeat sends a PING every maxStale/4 until rc fails or close; each
// answer moves fresh to when its PING was sent, since Redis sent every
// invalidation of an earlier change before that answer.
func (t *trackConn) heartbeat(rc *respConn) {
	tick := time.NewTicker(t.maxStale / 4)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-rc.dead():
			return
		case <-tick.C:
			sent := t.mono()
			rc.send(func(_ any, err error) {
				if err == nil && sent > t.fresh.Load() {
					t.fresh.Store(sent) // only the reader calls this: no race on the compare
				}
			}, "PING")
		}
	}
}

// read handles what Redis sends on rc until it fails. Nothing arriving for
// twice maxStale (at least a second) despite the PINGs means the
// connection is gone.
func (t *trackConn) read(rc *respConn) error {
	quiet := max(2*t.maxStale, time.Second)
	for {
		if rc.r.Buffered() == 0 {
			rc.nc.SetReadDeadline(time.Now().Add(quiet))
		}
		v, err := readResp(rc.r)
		if err != nil {
			return rc.fail(err)
		}
		if p, ok := v.(respPush); ok {
			t.push(p)
			continue
		}
		var c *call
		select {
		case c = <-rc.pending:
		default:
			return rc.fail(errors.New("resp: a reply to no command"))
		}
		if re, ok := v.(respError); ok {
			c.err = re
		} else {
			c.v = v
		}
		c.finish()
	}
}

// push handles an out-of-band message: an invalidation drops the keys it
// names, or everything when it names none (FLUSHALL, FLUSHDB, or Redis
// dropping its tracking table).
func (t *trackConn) push(p respPush) {
	if len(p) < 2 || !isBulk(p[0], "invalidate") {
		return
	}
	keys, ok := p[1].([]any)
	if !ok {
		t.counts.invalidated(t.cache.flush())
		return
	}
	n := 0
	for _, k := range keys {
		if b, ok := k.([]byte); ok && t.cache.drop(string(b)) {
			n++
		}
	}
	t.counts.invalidated(n)
}

func isBulk(v any, s string) bool {
	switch v := v.(type) {
	case []byte:
		return string(v) == s
	case string:
		return v == s
	}
	return false
}

// do sends a command and waits for its reply. then, when not nil, is run by
// the reader with the reply before any later message is read, whether or
// not the caller still waits; it runs with a nil value and an error when
// the connection fails first. A Redis error reply is returned as a
// respError. Without a connection, do returns errConnDown at once and
// then is not run.
func (t *trackConn) do(ctx context.Context, then func(any, error), args ...string) (any, error) {
	rc := t.cur.Load()
	if rc == nil {
		return nil, errConnDown
	}
	c := rc.send(then, args...)
	if c == nil {
		return nil, errConnDown
	}
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// eval runs a script on key, as EVALSHA and, if the server does not have
// it (after a restart), as EVAL.
func (t *trackConn) eval(ctx context.Context, then func(any, error), s *redis.Script, src, key string, args ...string) (any, error) {
	v, err := t.do(ctx, then, append([]string{"EVALSHA", s.Hash(), "1", key}, args...)...)
	var re respError
	if errors.As(err, &re) && strings.HasPrefix(string(re), "NOSCRIPT") {
		v, err = t.do(ctx, then, append([]string{"EVAL", src, "1", key}, args...)...)
	}
	return v, err
}
