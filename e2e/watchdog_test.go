package e2e

import (
	"net/url"
	"testing"
	"time"
)

// TestEdgeFeedWatchdog silences the hub's feed without closing it (the
// proxy between worker and origin drops what the origin sends, heartbeats
// included). The hub's watchdog must notice within FEED_TIMEOUT_MS, open a
// new feed after its newest id, and the client must get the events
// published meanwhile, once each, in order.
func TestEdgeFeedWatchdog(t *testing.T) {
	topic := uniqueTopic(t, "watchdog")
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), nil)
	first := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"before"}})
	if e := c.next(t, 10*time.Second); e.ID != first {
		t.Fatalf("got %+v, want %s", e, first)
	}
	if n := sys.feed.freeze(); n == 0 {
		t.Fatal("no open connection between worker and origin to freeze")
	}
	frozen := time.Now()
	want := publishN(t, topic, "while-silent", 3)
	timeout, _ := time.ParseDuration(feedTimeoutMS + "ms")
	for i, id := range want {
		e := c.next(t, timeout+20*time.Second)
		if e.ID != id {
			t.Fatalf("event %d after the silence: got %+v, want %s", i, e, id)
		}
		if i == 0 {
			t.Logf("e2e: feed silent; events arrived %s later (FEED_TIMEOUT_MS %s)", time.Since(frozen).Round(100*time.Millisecond), feedTimeoutMS)
			if time.Since(frozen) < timeout/2 {
				t.Fatalf("event arrived %s after the feed went silent, before the watchdog could fire (%s): the freeze did not hold", time.Since(frozen), timeout)
			}
		}
	}
	c.quiet(t, time.Second)
}
