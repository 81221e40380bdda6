package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/origin/history"
	"github.com/edge-sse/edge-sse/origin/internal/redistest"
	opresence "github.com/edge-sse/edge-sse/origin/presence"
	"github.com/edge-sse/edge-sse/origin/server"
	"github.com/edge-sse/edge-sse/shared/auth"
	"github.com/edge-sse/edge-sse/shared/presence"
)

// redisOrigin starts an origin on the Redis history and presence index
// under prefix, with its own client, as one origin process of several.
func redisOrigin(t *testing.T, prefix string, clock *fakeClock) *testHub {
	t.Helper()
	client := redistest.Dial(t)
	store, err := history.NewRedis(context.Background(), client, history.RedisOptions{Prefix: prefix, Block: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return presenceHub(t, store, clock, func(c *server.Config) {
		c.SubscriptionStore = opresence.NewRedis(client, prefix+"presence:", server.HubPath(c.HubURL))
	})
}

// TestPresenceTwoOriginsRedis: two origins share one Redis. Origin A
// holds a direct subscriber and an edge hub's report, then stops
// renewing (as if killed); the other origins terminate every one of its
// subscriptions exactly once, however many check at the same time.
func TestPresenceTwoOriginsRedis(t *testing.T) {
	prefix := redistest.Prefix(t)
	clock := newClock()
	a, b, c := redisOrigin(t, prefix, clock), redisOrigin(t, prefix, clock), redisOrigin(t, prefix, clock)
	w := b.watch(t, "")
	ctx := context.Background()

	// On A: a direct subscriber and an edge hub.
	direct, body := a.subscribe(t, "topic=https://e/direct", bearer(sign(t, auth.Claims{Subscribe: exact("*")}, time.Hour)))
	if body != "" {
		t.Fatal(body)
	}
	defer direct.cancel()
	if err := a.srv.Tracker().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	edge := newEdgeConn("https://e/edge1", "https://e/edge2")
	edgeHub := presence.NewInstanceID()
	a.mustReport(t, presence.Report{Hub: edgeHub, Seq: 1, Full: true, Ops: []presence.Op{edge.add()}}, http.StatusOK)
	got, _ := b.events(t, w)
	if len(got) != 3 {
		t.Fatalf("connect events seen on B: %v", got)
	}
	var directSub string
	for _, e := range got {
		if strings.HasPrefix(e, "+https://e/direct/") {
			directSub = strings.TrimPrefix(e, "+https://e/direct/")
		}
	}
	if directSub == "" {
		t.Fatalf("no event of the direct subscriber: %v", got)
	}
	// B and C renew themselves; A does not any more.
	clock.Add(testLease)
	for _, o := range []*testHub{b, c} {
		if err := o.srv.Tracker().Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	expired := 0
	for _, o := range []*testHub{b, c, b, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := o.srv.Tracker().Expire(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			expired += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if expired != 2 {
		t.Fatalf("%d instances terminated, want 2 (A's own and the edge hub's)", expired)
	}
	got, _ = b.events(t, w)
	expectEvents(t, "termination of A's subscriptions", got, join(edge.evs(false), []string{"-https://e/direct/" + directSub}))
	for _, o := range []*testHub{a, b, c} {
		if list, _ := o.list(t); len(list) != 0 {
			t.Fatalf("list after the takeover: %v", list)
		}
	}
	// The edge hub, reporting to B now, must resync; its full report
	// announces its subscriptions again, once.
	b.mustReport(t, presence.Report{Hub: edgeHub, Seq: 2}, http.StatusConflict)
	c.mustReport(t, presence.Report{Hub: edgeHub, Seq: 3, Full: true, Ops: []presence.Op{edge.add()}}, http.StatusOK)
	b.mustReport(t, presence.Report{Hub: edgeHub, Seq: 4, Full: true, Ops: []presence.Op{edge.add()}}, http.StatusOK)
	got, _ = b.events(t, w)
	expectEvents(t, "edge hub back", got, edge.evs(true))
	// A, back to life, resyncs its own instance: its subscriber is still
	// connected, so it is announced again.
	if err := a.srv.Tracker().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = b.events(t, w)
	expectEvents(t, "A back", got, []string{"+https://e/direct/" + directSub})
}
