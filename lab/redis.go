package lab

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// EmbeddedRedis is an in-process Redis (miniredis) on a loopback port: what
// the demo and the experiment use when no Redis URL is given, so that the
// lab needs nothing but Go. It speaks the Redis protocol, Lua scripts
// included, but keeps nothing on disk. Its methods are safe for concurrent
// use.
type EmbeddedRedis struct {
	m *miniredis.Miniredis
}

// StartRedis starts an embedded Redis on a free port of 127.0.0.1. Keys
// expire in real time, as in Redis; miniredis otherwise only expires them on
// FastForward.
func StartRedis() (*EmbeddedRedis, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	return &EmbeddedRedis{m: m}, nil
}

// URL is the redis:// URL of database 0.
func (r *EmbeddedRedis) URL() string { return "redis://" + r.m.Addr() + "/0" }

// Addr is the host:port it listens on.
func (r *EmbeddedRedis) Addr() string { return r.m.Addr() }

// Keys returns the number of keys in database 0.
func (r *EmbeddedRedis) Keys() int { return len(r.m.Keys()) }

// Close stops it and closes its connections.
func (r *EmbeddedRedis) Close() { r.m.Close() }
