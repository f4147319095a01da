package sessionstore

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

func TestNewRedisClientForms(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		check     func(t *testing.T, c redis.UniversalClient)
	}{
		{"redis", "redis://:pw@cache.internal:6380/2", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "cache.internal:6380" || o.DB != 2 || o.Password != "pw" || o.TLSConfig != nil || !o.ContextTimeoutEnabled {
				t.Errorf("got Addr %q DB %d password %q TLS %v ctx %v", o.Addr, o.DB, o.Password, o.TLSConfig != nil, o.ContextTimeoutEnabled)
			}
		}},
		{"redis defaults", "redis://cache.internal", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "cache.internal:6379" || o.DB != 0 {
				t.Errorf("got Addr %q DB %d, want cache.internal:6379 and 0", o.Addr, o.DB)
			}
		}},
		{"rediss with options", "rediss://u:pw@cache.internal/0?read_timeout=250ms&pool_size=7", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.TLSConfig == nil || o.TLSConfig.ServerName != "cache.internal" || o.Username != "u" || o.PoolSize != 7 || o.ReadTimeout.String() != "250ms" {
				t.Errorf("got TLS %v user %q pool %d read timeout %v", o.TLSConfig, o.Username, o.PoolSize, o.ReadTimeout)
			}
		}},
		{"context timeouts off on request", "redis://cache.internal?context_timeout_enabled=false", func(t *testing.T, c redis.UniversalClient) {
			if c.(*redis.Client).Options().ContextTimeoutEnabled {
				t.Errorf("got ContextTimeoutEnabled, want it off as the URL says")
			}
		}},
		{"unix", "unix:///run/redis.sock?db=3", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Network != "unix" || o.Addr != "/run/redis.sock" || o.DB != 3 {
				t.Errorf("got %s %q DB %d", o.Network, o.Addr, o.DB)
			}
		}},
		{"sentinel", "redis+sentinel://s1:26379/1?master_name=main&addr=s2:26379&password=master-pw", func(t *testing.T, c redis.UniversalClient) {
			if _, ok := c.(*redis.Client); !ok {
				t.Errorf("got %T, want a failover *redis.Client", c)
			}
		}},
		{"cluster", "rediss+cluster://u:pw@n1:7000?addr=n2:7000&addr=n3:7000", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.ClusterClient).Options()
			if strings.Join(o.Addrs, ",") != "n1:7000,n2:7000,n3:7000" || o.TLSConfig == nil || !o.ContextTimeoutEnabled {
				t.Errorf("got addrs %v TLS %v ctx %v", o.Addrs, o.TLSConfig != nil, o.ContextTimeoutEnabled)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewRedisClient(tc.url)
			if err != nil {
				t.Fatalf("NewRedisClient: %v", err)
			}
			t.Cleanup(func() { c.Close() })
			tc.check(t, c)
		})
	}
}

func TestNewRedisClientErrors(t *testing.T) {
	for _, tc := range []struct {
		name, url, want string
	}{
		{"empty", " ", "redis URL is empty"},
		{"scheme", "http://secret@cache:6379", `scheme "http" not supported`},
		{"sentinel without master", "redis+sentinel://secret@s1:26379", "needs master_name"},
		{"unknown kind", "redis+replica://secret@cache", `scheme "redis+replica" not supported`},
		{"no host", "redis:///0", "no host"},
		{"bad port", "redis://:secret@cache:port/0", "invalid port"},
		{"bad db", "redis://:secret@cache/zero", "invalid database number"},
		{"unknown option", "redis://:secret@cache/0?colour=red", "colour"},
		{"bad duration", "redis://:secret@cache/0?read_timeout=soon", "read_timeout"},
		{"bad bool", "redis://:secret@cache/0?context_timeout_enabled=maybe", "context_timeout_enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewRedisClient(tc.url)
			if err == nil {
				c.Close()
				t.Fatalf("got a client, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

// TestNewRedisClientConnects uses the client on a real server.
func TestNewRedisClientConnects(t *testing.T) {
	srv := redistest.Start(t)
	c, err := NewRedisClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := NewRedis(c, [][]byte{key1}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if s.Mode() != "redis" {
		t.Errorf("got mode %q, want redis", s.Mode())
	}
}
