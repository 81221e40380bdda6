package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startRedisOrigin starts an extra origin process sharing Redis history and
// fan-out under prefix, and returns its base URL.
func startRedisOrigin(t *testing.T, name, prefix string) string {
	t.Helper()
	p := startTestOrigin(t, name, "--jwt-key", jwtKey,
		"--feed-secret", feedSecret,
		"--redis", "redis://127.0.0.1:6379/0", "--redis-prefix", prefix)
	return p.url
}

// TestOriginsShareRedis runs two origin processes on one real Redis: an
// event published to either is delivered by both, resume works on either,
// and an id used on one is refused on the other.
func TestOriginsShareRedis(t *testing.T) {
	prefix := fmt.Sprintf("{e2e-%d}:", time.Now().UnixNano())
	cleanRedis(t, prefix)
	a := startRedisOrigin(t, "origin-redis-a", prefix)
	b := startRedisOrigin(t, "origin-redis-b", prefix)
	topic := uniqueTopic(t, "redis")
	q := "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	onA, onB := subscribeSSE(t, a+q, nil), subscribeSSE(t, b+q, nil)

	id1 := publish(t, a, url.Values{"topic": {topic}, "data": {"from A"}})
	id2 := publish(t, b, url.Values{"topic": {topic}, "data": {"from B"}})
	for name, c := range map[string]*sseClient{"A": onA, "B": onB} {
		for _, want := range []string{id1, id2} {
			if e := c.next(t, 10*time.Second); e.ID != want {
				t.Fatalf("subscriber on %s got %+v, want %s", name, e, want)
			}
		}
		c.quiet(t, 300*time.Millisecond)
	}

	// Resume on B from an id published on A.
	id3 := publish(t, a, url.Values{"topic": {topic}, "data": {"later"}})
	resumed := subscribeSSE(t, b+q, http.Header{"Last-Event-ID": {id1}})
	for _, want := range []string{id2, id3} {
		if e := resumed.next(t, 10*time.Second); e.ID != want {
			t.Fatalf("resume on B got %+v, want %s", e, want)
		}
	}

	// An id taken on A is refused on B.
	if _, err := tryPublish(a, url.Values{"topic": {topic}, "data": {"x"}, "id": {"shared-" + prefix}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tryPublish(b, url.Values{"topic": {topic}, "data": {"y"}, "id": {"shared-" + prefix}}); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("duplicate id on the second origin: %v, want 409 Conflict", err)
	}
}

// cleanRedis deletes the keys a test created under prefix.
func cleanRedis(t *testing.T, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		defer rdb.Close()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
}
