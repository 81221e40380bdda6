// Package redistest is the real Redis the origin's tests run against
// (history, presence and server): where it is, a client per simulated
// origin process, and a key prefix per test whose keys are deleted when the
// test ends.
//
// A test that needs Redis fails, never skips, when Redis does not answer:
// CI (.ci/run) starts one on 127.0.0.1:6379 before `make test`, so an
// unreachable Redis is a broken setup, not a reason to pass.
package redistest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the Redis CI starts.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL is the Redis the tests use: EDGE_SSE_REDIS_URL, or DefaultURL.
func URL() string {
	if u := os.Getenv("EDGE_SSE_REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Dial returns a new client (as a new origin process has one), closed when
// the test ends. It fails the test when Redis does not answer within 2 s.
func Dial(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatalf("EDGE_SSE_REDIS_URL %q: %v", URL(), err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis is not reachable at %s: %v. These tests need a real Redis: "+
			"start one (redis-server, or what .ci/run starts) or point EDGE_SSE_REDIS_URL at one.", URL(), err)
	}
	return c
}

// Prefix returns a key prefix no other test uses, named after the test
// (with a Redis Cluster hash tag, so that its keys share a slot), and
// deletes every key under it when the test ends. It fails the test when
// Redis does not answer.
func Prefix(t testing.TB) string {
	t.Helper()
	c := Dial(t)
	name := strings.NewReplacer("/", "-", " ", "_", "*", "", "?", "", "[", "", "]", "", "{", "", "}", "").Replace(t.Name())
	prefix := fmt.Sprintf("edge-sse-test:{%s-%08x}:", name, rand.Uint32())
	// Registered after Dial's Close, so it runs before it.
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("delete test key %s: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("delete test keys %s*: %v", prefix, err)
		}
	})
	return prefix
}
