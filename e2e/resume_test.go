package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// publishN publishes n events with data prefix-0 … prefix-(n-1) and returns
// their ids.
func publishN(t testing.TB, topic, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {fmt.Sprintf("%s-%d", prefix, i)}})
	}
	return ids
}

// resumeAndExpect reconnects through the edge with Last-Event-ID and checks
// the client gets exactly the events with ids want, in order, and nothing
// else for a moment.
func resumeAndExpect(t *testing.T, topic, last string, want []string) {
	t.Helper()
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), http.Header{"Last-Event-ID": {last}})
	for i, id := range want {
		e := c.next(t, 20*time.Second)
		if e.Type != "message" || e.ID != id {
			t.Fatalf("resumed event %d: got %+v, want id %s", i, e, id)
		}
	}
	c.quiet(t, 1*time.Second)
}

// TestEdgeResumeFromRing: a client leaves, events are published, and it
// comes back with its last id; the edge's ring holds them.
func TestEdgeResumeFromRing(t *testing.T) {
	keepFeedOpen(t)
	topic := uniqueTopic(t, "ring")
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), nil)
	first := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"first"}})
	if e := c.next(t, 10*time.Second); e.ID != first {
		t.Fatalf("got %+v", e)
	}
	c.close()
	missed := publishN(t, topic, "missed", 5)
	waitEdgeHas(t, missed[len(missed)-1])
	resumeAndExpect(t, topic, first, missed)
}

// TestEdgeResumeFromOrigin: the client's last id is older than the edge's
// ring (64 events in these tests), so the edge fetches the missing range
// from the origin's history, then switches to live with no gap or duplicate.
func TestEdgeResumeFromOrigin(t *testing.T) {
	keepFeedOpen(t)
	topic := uniqueTopic(t, "old")
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), nil)
	first := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"first"}})
	if e := c.next(t, 10*time.Second); e.ID != first {
		t.Fatalf("got %+v", e)
	}
	c.close()
	missed := publishN(t, topic, "missed", 100) // more than the ring holds
	waitEdgeHas(t, missed[len(missed)-1])
	before := hubStats(t)["catchups"].(float64)
	resumeAndExpect(t, topic, first, missed)
	if after := hubStats(t)["catchups"].(float64); after != before+1 {
		t.Fatalf("catch-ups %v → %v: the resume did not go to the origin", before, after)
	}
}

// TestEdgeResumeUnknownID: an id nobody holds gets the in-band notice.
func TestEdgeResumeUnknownID(t *testing.T) {
	topic := uniqueTopic(t, "unknown")
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), http.Header{"Last-Event-ID": {"no-such-id"}})
	if e := c.next(t, 20*time.Second); e.Type != "mercure-missed" {
		t.Fatalf("got %+v, want a mercure-missed event", e)
	}
	id := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"live"}})
	if e := c.next(t, 10*time.Second); e.ID != id {
		t.Fatalf("got %+v, want the live event", e)
	}
}

// TestEdgeResumeAfterEdgeRestart restarts wrangler dev: every hub object and
// stream dies. Events published meanwhile reach the client when it resumes
// from the new hub object, which has an empty ring and asks the origin.
func TestEdgeResumeAfterEdgeRestart(t *testing.T) {
	topic := uniqueTopic(t, "restart-edge")
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), nil)
	first := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"first"}})
	if e := c.next(t, 10*time.Second); e.ID != first {
		t.Fatalf("got %+v", e)
	}
	restartWrangler(t)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("client stream survived the edge restart")
	}
	missed := publishN(t, topic, "while-down", 5)
	resumeAndExpect(t, topic, first, missed)
}

// keepFeedOpen holds a client on another topic for the rest of the test, as
// other users would, so that the hub keeps its feed (it closes it after
// UPSTREAM_IDLE_MS without clients) and receives events while the test's
// own client is away.
func keepFeedOpen(t *testing.T) {
	subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(uniqueTopic(t, "keeper")), nil)
}

// TestEdgeResumeWhileFeedIdle: the only client leaves, so the hub closes its
// feed; events are published meanwhile. When the client comes back, the hub
// reopens the feed after its newest id and the client gets exactly what it
// missed.
func TestEdgeResumeWhileFeedIdle(t *testing.T) {
	if !waitFor(90*time.Second, func() bool { return subscribers(t) == 0 }) {
		t.Fatalf("hub not empty: %v", hubStats(t))
	}
	topic := uniqueTopic(t, "idle-resume")
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), nil)
	first := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"first"}})
	if e := c.next(t, 10*time.Second); e.ID != first {
		t.Fatalf("got %+v", e)
	}
	c.close()
	if !waitFor(30*time.Second, func() bool { return originFeeds(t) == 0 }) {
		t.Fatalf("feed still open: %d", originFeeds(t))
	}
	missed := publishN(t, topic, "while-idle", 5)
	resumeAndExpect(t, topic, first, missed)
}

// waitEdgeHas waits until the edge hub has received the event with this id.
func waitEdgeHas(t testing.TB, id string) {
	t.Helper()
	if !waitFor(20*time.Second, func() bool { return hubStats(t)["lastEventID"] == id }) {
		t.Fatalf("edge never received %s: %v", id, hubStats(t))
	}
}

// TestEdgeResumeAfterOriginRestart restarts the origin (bbolt history). The
// hub's feed breaks and resumes after its newest id; a client that stayed
// connected gets the events published after the restart exactly once, and a
// client that was away resumes with its last id and gets exactly what it
// missed, older than the ring included.
func TestEdgeResumeAfterOriginRestart(t *testing.T) {
	topic := uniqueTopic(t, "restart-origin")
	u := sys.edgeURL + "/.well-known/mercure?topic=" + url.QueryEscape(topic)
	stay := subscribeSSE(t, u, nil)
	away := subscribeSSE(t, u, nil)
	first := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"first"}})
	for _, c := range []*sseClient{stay, away} {
		if e := c.next(t, 10*time.Second); e.ID != first {
			t.Fatalf("got %+v", e)
		}
	}
	away.close()
	before := publishN(t, topic, "before-restart", 70) // more than the 64-event ring
	gaps := hubStats(t)["gaps"].(float64)
	restartOrigin(t)
	after := publishN(t, topic, "after-restart", 5)
	want := append(before, after...)
	for i, id := range want {
		if e := stay.next(t, 30*time.Second); e.ID != id {
			t.Fatalf("connected client: event %d is %+v, want id %s", i, e, id)
		}
	}
	stay.quiet(t, time.Second)
	if g := hubStats(t)["gaps"].(float64); g != gaps {
		t.Fatalf("the hub saw %v gaps across the restart", g-gaps)
	}
	resumeAndExpect(t, topic, first, want)
}
