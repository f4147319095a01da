package lab

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestEmbeddedRedisExpiresInRealTime(t *testing.T) {
	r, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !strings.HasPrefix(r.URL(), "redis://127.0.0.1:") {
		t.Errorf("URL: got %q, want redis://127.0.0.1:PORT/0", r.URL())
	}
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatalf("parse %q: %v", r.URL(), err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got := r.Keys(); got != 1 {
		t.Fatalf("keys after SET: got %d, want 1", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Exists(ctx, "k").Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("key with a 50ms TTL still exists 5s later: TTLs do not run in real time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
