package sessionstore

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewRedisClient makes a Redis client from a URL, for NewRedis. The forms
// (query options are go-redis's, in snake case, e.g. read_timeout=500ms,
// pool_size=20; an unknown one is an error):
//
//	redis://[[user]:password@]host[:port][/db]       one server (port 6379, db 0 by default)
//	rediss://[[user]:password@]host[:port][/db]      the same over TLS
//	unix://[[user]:password@]/path/to/redis.sock[?db=N]
//	redis+sentinel://[[user]:password@]sentinel[:port][/db]?master_name=NAME[&addr=sentinel2:port...]
//	                                                  Sentinel: the user and password are the
//	                                                  sentinels'; the master's go in the
//	                                                  username= and password= options
//	rediss+sentinel://...                             the same over TLS
//	redis+cluster://[[user]:password@]node[:port][?addr=node2:port...]
//	                                                  Cluster: any nodes, the rest are discovered
//	rediss+cluster://...                              the same over TLS
//
// Parsing is go-redis's (redis.ParseURL, ParseFailoverURL, ParseClusterURL).
// Unless the URL says otherwise (context_timeout_enabled=false, an option
// this function adds for every form), the client
// honours context deadlines on its connections, so that a hung server fails
// a request within its deadline instead of the client's read timeout.
// Errors name the problem but never repeat the URL, which may hold a
// password. Connecting happens on first use, not here.
func NewRedisClient(rawURL string) (redis.UniversalClient, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, errors.New("sessionstore: redis URL is empty")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, fmt.Errorf("sessionstore: redis URL: %w", err)
	}
	ctxTimeouts, err := contextTimeouts(u)
	if err != nil {
		return nil, err
	}
	base, kind, _ := strings.Cut(u.Scheme, "+")
	if base != "redis" && base != "rediss" && !(base == "unix" && kind == "") {
		return nil, fmt.Errorf("sessionstore: redis URL: scheme %q not supported; use redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster", u.Scheme)
	}
	if base != "unix" && u.Host == "" {
		return nil, fmt.Errorf("sessionstore: redis URL: no host in %s URL", u.Scheme)
	}
	plain := *u
	plain.Scheme = base
	switch kind {
	case "":
		opt, err := redis.ParseURL(plain.String())
		if err != nil {
			return nil, fmt.Errorf("sessionstore: redis URL: %w", err)
		}
		opt.ContextTimeoutEnabled = ctxTimeouts
		return redis.NewClient(opt), nil
	case "sentinel":
		opt, err := redis.ParseFailoverURL(plain.String())
		if err != nil {
			return nil, fmt.Errorf("sessionstore: redis URL: %w", err)
		}
		if opt.MasterName == "" {
			return nil, errors.New("sessionstore: redis URL: a redis+sentinel URL needs master_name=NAME")
		}
		opt.ContextTimeoutEnabled = ctxTimeouts
		return redis.NewFailoverClient(opt), nil
	case "cluster":
		opt, err := redis.ParseClusterURL(plain.String())
		if err != nil {
			return nil, fmt.Errorf("sessionstore: redis URL: %w", err)
		}
		opt.ContextTimeoutEnabled = ctxTimeouts
		return redis.NewClusterClient(opt), nil
	default:
		return nil, fmt.Errorf("sessionstore: redis URL: scheme %q not supported; use redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster", u.Scheme)
	}
}

// contextTimeouts takes the context_timeout_enabled option out of u's query
// (go-redis parses it only for Sentinel URLs) and returns its value, true
// when absent.
func contextTimeouts(u *url.URL) (bool, error) {
	const name = "context_timeout_enabled"
	q := u.Query()
	if !q.Has(name) {
		return true, nil
	}
	on, err := strconv.ParseBool(q.Get(name))
	if err != nil {
		return false, fmt.Errorf("sessionstore: redis URL: %s=%q is not true or false", name, q.Get(name))
	}
	q.Del(name)
	u.RawQuery = q.Encode()
	return on, nil
}
