package sessionstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"stickylab/internal/redistest"
)

// TestRespMatchesGoRedis sends the same commands to a real redis-server
// through the cache's connection and through go-redis (RESP3 both), and
// compares the answers: go-redis is the reference reader.
func TestRespMatchesGoRedis(t *testing.T) {
	tc, srv := cacheConn(t)
	ref := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 3})
	t.Cleanup(func() { ref.Close() })
	ctx := context.Background()
	binary := "a\r\nb\x00\xff" + strings.Repeat("x", 70_000)
	for _, args := range [][]any{
		{"SET", "k", binary}, {"SET", "n", 7}, {"RPUSH", "l", "a", "", "c"},
		{"HSET", "h", "f", "v"}, {"SADD", "s", "m"},
	} {
		if err := ref.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	// Commands without side effects only: each runs twice.
	for _, args := range [][]string{
		{"GET", "k"},
		{"GET", "missing"},
		{"STRLEN", "k"},
		{"LRANGE", "l", "0", "-1"},
		{"HGETALL", "h"},
		{"SMEMBERS", "s"},
		{"PING"},
		{"LPUSH", "k", "x"}, // WRONGTYPE
		{"NOSUCHCOMMAND"},
		{"EVAL", "return {1, 'two', {3}, false}", "0"},
		{"EVAL", "return redis.error_reply('MY error')", "0"},
	} {
		got, gotErr := tc.do(ctx, nil, args...)
		refArgs := make([]any, len(args))
		for i, a := range args {
			refArgs[i] = a
		}
		want, wantErr := ref.Do(ctx, refArgs...).Result()
		if errors.Is(wantErr, redis.Nil) {
			want, wantErr = nil, nil
		}
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != "redis: "+strings.TrimPrefix(wantErr.Error(), "redis: ")) {
			t.Errorf("%s: got error %v, go-redis %v", args[0], gotErr, wantErr)
			continue
		}
		if args[0] == "HGETALL" {
			got = pairs(got)
		}
		if g, w := normal(got), normal(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: got %#v, go-redis %#v", args[0], g, w)
		}
	}
}

// cacheConn is the serving cache connection of a store on a redis-server
// of its own, and that server.
func cacheConn(t *testing.T) (*trackConn, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	s, _ := newCachedStore(t, srv.URL(), Config{})
	waitServing(t, s)
	return trackOf(s), srv
}

// TestRespConnConcurrentSenders sends commands from many goroutines at
// once through the cache's connection, where concurrent senders share a
// write: each must get the reply to its own command, so the calls must
// queue in the order their commands were written. Some arguments are
// larger than the write buffer kept between writes.
func TestRespConnConcurrentSenders(t *testing.T) {
	tc, _ := cacheConn(t)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				want := fmt.Sprintf("g%d-%d", g, i)
				if i%50 == 0 {
					want += strings.Repeat("x", maxSpare+1)
				}
				v, err := tc.do(context.Background(), nil, "ECHO", want)
				if err != nil {
					t.Errorf("ECHO %.20s: %v", want, err)
					return
				}
				if got, _ := v.([]byte); string(got) != want {
					t.Errorf("ECHO %.20s: got %.20q", want, got)
					return
				}
			}
		})
	}
	wg.Wait()
}

// pairs turns the key-value list readResp makes of a RESP3 map into a map.
func pairs(v any) any {
	l, _ := v.([]any)
	m := map[any]any{}
	for i := 0; i+1 < len(l); i += 2 {
		m[string(l[i].([]byte))] = l[i+1]
	}
	return m
}

// normal puts a reply in one form for comparison: bytes as strings, maps as
// sorted key-value pairs, sets as slices.
func normal(v any) any {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normal(e)
		}
		return out
	case map[any]any:
		out := map[string]any{}
		for k, e := range v {
			out[fmt.Sprint(normal(k))] = normal(e)
		}
		return out
	}
	return v
}

// TestReadRespRejects: a stream that is not RESP is an error, never a
// panic or a huge allocation.
func TestReadRespRejects(t *testing.T) {
	for name, in := range map[string]string{
		"unknown type":      "?x\r\n",
		"no CRLF":           "+OK\n",
		"empty line":        "\r\n",
		"bad integer":       ":12a\r\n",
		"bad length":        "$x\r\n",
		"huge length":       "$99999999999\r\n",
		"short bulk":        "$5\r\nab\r\n",
		"bulk without CRLF": "$2\r\nabcd",
		"short array":       "*2\r\n:1\r\n",
		"bad boolean":       "#x\r\n",
		"bad double":        ",one\r\n",
		"bad verbatim":      "=3\r\nabc\r\n",
		"negative length":   "*-2\r\n",
	} {
		if v, err := readResp(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("%s: %q read as %#v, want an error", name, in, v)
		}
	}
}

// FuzzReadResp: whatever the bytes, readResp returns a value or an error.
func FuzzReadResp(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "$3\r\nabc\r\n", "*2\r\n:1\r\n_\r\n", ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n", "%1\r\n+a\r\n#t\r\n", "|1\r\n+a\r\n+b\r\n:1\r\n", "=7\r\ntxt:abc\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		readResp(bufio.NewReader(strings.NewReader(string(b))))
	})
}
