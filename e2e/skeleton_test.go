package e2e

import (
	"context"
	"net/url"
	"testing"
	"time"
)

// TestEdgeDisconnectHalf connects 50 clients through the edge, disconnects
// 25, and checks that the hub's subscriber count falls to 25 (no leak) and
// that the next publish reaches exactly the remaining 25 (no crash).
// It first waits for earlier tests' clients to leave the hub, so that the
// counts it checks are its own.
func TestEdgeDisconnectHalf(t *testing.T) {
	start := time.Now()
	if !waitFor(90*time.Second, func() bool { return subscribers(t) == 0 }) {
		t.Fatalf("hub not empty 90 s after earlier tests: %v", hubStats(t))
	}
	t.Logf("e2e: hub empty after %s", time.Since(start).Round(time.Second))
	topic := uniqueTopic(t, "half")
	u := sys.edgeURL + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	clients := dialSSEMany(t, u, 50)
	if n := subscribers(t); n != 50 {
		t.Fatalf("subscribers = %d after 50 connects, want 50", n)
	}
	for _, c := range clients[:25] {
		c.close()
	}
	if !waitFor(30*time.Second, func() bool { return subscribers(t) == 25 }) {
		t.Fatalf("subscribers = %d 30 s after 25 disconnects, want 25", subscribers(t))
	}
	id := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"after-half"}})
	for i, c := range clients[25:] {
		e := c.next(t, 10*time.Second)
		if e.ID != id || e.Data != "after-half" {
			t.Fatalf("client %d got %+v, want id %s data after-half", 25+i, e, id)
		}
		c.close()
	}
	if !waitFor(30*time.Second, func() bool { return subscribers(t) == 0 }) {
		t.Fatalf("subscribers = %d after all left, want 0", subscribers(t))
	}
}

// TestEdgeGoClientTopics subscribes two Go clients through the edge to two
// topics and checks each gets exactly its own events, type, data and id
// intact.
func TestEdgeGoClientTopics(t *testing.T) {
	topicA, topicB := uniqueTopic(t, "a"), uniqueTopic(t, "b")
	a := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topicA), nil)
	b := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topicB), nil)

	idA := publish(t, sys.originURL, url.Values{"topic": {topicA}, "data": {"for A\nline 2"}, "type": {"update"}, "id": {"evt-a-1"}})
	idB := publish(t, sys.originURL, url.Values{"topic": {topicB}, "data": {"for B"}})
	if idA != "evt-a-1" {
		t.Fatalf("publish returned id %q, want the given evt-a-1", idA)
	}
	if e := a.next(t, 10*time.Second); e.ID != idA || e.Type != "update" || e.Data != "for A\nline 2" {
		t.Fatalf("A got %+v", e)
	}
	if e := b.next(t, 10*time.Second); e.ID != idB || e.Type != "message" || e.Data != "for B" {
		t.Fatalf("B got %+v", e)
	}
	a.quiet(t, 500*time.Millisecond)
	b.quiet(t, 10*time.Millisecond)
}

// TestEdgeNpmEventSource checks the npm eventsource client through the edge,
// including that it only gets its topic.
func TestEdgeNpmEventSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic, other := uniqueTopic(t, "npm"), uniqueTopic(t, "npm-other")
	lines := nodeClient(t, ctx, "eventsource-client.mjs",
		sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), "2", "update")
	expectReady(t, lines)
	publish(t, sys.originURL, url.Values{"topic": {other}, "data": {"not for you"}})
	id1 := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"one"}, "type": {"update"}})
	id2 := publish(t, sys.edgeURL, url.Values{"topic": {topic}, "data": {"two"}}) // through the front door
	want := []map[string]any{
		{"type": "update", "data": "one", "lastEventId": id1},
		{"type": "message", "data": "two", "lastEventId": id2},
	}
	expectEvents(t, lines, want)
}

// TestEdgeChromiumEventSource runs headless Chromium's native EventSource
// on the worker's origin, subscribed through the edge, and checks the
// browser received exactly the published event.
func TestEdgeChromiumEventSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	topic := uniqueTopic(t, "chromium")
	page := sys.edgeURL + "/?types=update&topic=" + url.QueryEscape(topic)
	lines := nodeClient(t, ctx, "chromium-client.mjs", page, "1", "", "--native")
	expectReady(t, lines)
	id := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"hello browser"}, "type": {"update"}, "id": {"browser-1"}})
	expectEvents(t, lines, []map[string]any{{"type": "update", "data": "hello browser", "lastEventId": id}})
}

func expectReady(t *testing.T, lines <-chan map[string]any) {
	t.Helper()
	for m := range lines {
		if m["ready"] == true {
			return
		}
		t.Logf("client: %v", m)
	}
	t.Fatal("client exited before its stream opened")
}

func expectEvents(t *testing.T, lines <-chan map[string]any, want []map[string]any) {
	t.Helper()
	var got []map[string]any
	for m := range lines {
		if _, ok := m["error"]; ok {
			t.Fatalf("client error: %v (got %v)", m, got)
		}
		got = append(got, m)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events %v, want %v", len(got), got, want)
	}
	for i := range want {
		for k, v := range want[i] {
			if got[i][k] != v {
				t.Errorf("event %d: %s = %v, want %v", i, k, got[i][k], v)
			}
		}
	}
}

// TestEdgeUpstreamIdle checks the hub closes its origin feed once it has no
// client (UPSTREAM_IDLE_MS is 3 s in these tests) and opens it again, with
// nothing lost, for the next client.
func TestEdgeUpstreamIdle(t *testing.T) {
	if !waitFor(90*time.Second, func() bool { return subscribers(t) == 0 }) {
		t.Fatalf("hub not empty: %v", hubStats(t))
	}
	if !waitFor(30*time.Second, func() bool { return originFeeds(t) == 0 }) {
		t.Fatalf("origin still serves %d feeds 30 s after the hub emptied", originFeeds(t))
	}
	topic := uniqueTopic(t, "idle")
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), nil)
	if !waitFor(10*time.Second, func() bool { return originFeeds(t) == 1 }) {
		t.Fatalf("feed not reopened for a new client: %d feeds", originFeeds(t))
	}
	id := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"after idle"}})
	if e := c.next(t, 10*time.Second); e.ID != id {
		t.Fatalf("got %+v", e)
	}
}
