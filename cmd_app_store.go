package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/redis/go-redis/v9"

	"stickylab/app"
	"stickylab/sessionstore"
)

// appStore is a session store the app command opens and must close.
type appStore interface {
	app.Store
	Close() error
}

// appStores opens the session stores of one app process: the one it starts
// with, and the one an in-place switch (PUT /admin/store) opens later. It
// closes them all, in reverse order of opening, with the Redis clients.
type appStores struct {
	redisURL string
	keys     [][]byte
	cfg      sessionstore.Config

	mu      sync.Mutex // protects closers
	closers []func() error
}

// open opens the store of -store kind; rc is the client of -redis-url for
// redis. With migrateFrom "memory" (redis only), the Redis store moves the
// sessions of a memory store of this process.
func (s *appStores) open(kind, migrateFrom string, rc redis.UniversalClient) (appStore, error) {
	var (
		st  appStore
		err error
	)
	switch kind {
	case "cookie":
		st, err = sessionstore.NewCookie(s.keys, s.cfg)
	case "redis":
		s.add(rc.Close)
		cfg := s.cfg
		if migrateFrom == "memory" {
			// Empty at start: it fills only if sessions are written to it,
			// which nothing does; it is there so the flag means the same
			// at start as after an in-place switch.
			mem, merr := sessionstore.NewMemory(s.keys, s.cfg)
			if merr != nil {
				return nil, fmt.Errorf("app: memory store: %w", merr)
			}
			s.add(mem.Close)
			cfg.MigrateFrom = mem
		}
		st, err = sessionstore.NewRedis(rc, s.keys, cfg)
	default:
		st, err = sessionstore.NewMemory(s.keys, s.cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("app: %s store: %w", kind, err)
	}
	s.add(st.Close)
	return st, nil
}

// switchStore is the app's Config.SwitchStore: a Redis store on -redis-url
// that migrates from the memory store in use, once Redis answers.
func (s *appStores) switchStore(ctx context.Context, req app.StoreSwitch, current app.Store) (app.Store, error) {
	mem, ok := current.(*sessionstore.Store)
	if !ok || mem.Mode() != "memory" {
		return nil, fmt.Errorf("switch store: from %s: not a memory store", current.Mode())
	}
	rc, err := sessionstore.NewRedisClient(s.redisURL)
	if err != nil {
		return nil, fmt.Errorf("switch store: %w", err)
	}
	cfg := s.cfg
	cfg.MigrateFrom = mem
	st, err := sessionstore.NewRedis(rc, s.keys, cfg)
	if err == nil {
		err = st.Ping(ctx)
	}
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("switch store: %w", err)
	}
	s.add(rc.Close)
	s.add(st.Close)
	return st, nil
}

func (s *appStores) add(close func() error) {
	s.mu.Lock()
	s.closers = append(s.closers, close)
	s.mu.Unlock()
}

// close closes everything opened, newest first.
func (s *appStores) close() error {
	s.mu.Lock()
	closers := slices.Clone(s.closers)
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for _, c := range slices.Backward(closers) {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}
