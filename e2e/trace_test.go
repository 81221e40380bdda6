package e2e

import (
	"net/url"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// TestEdgeFeedTrace: /_edge/stats?trace=1 shows, for an event the hub
// fanned out, when it reached the feed pump, when Go took it, and when
// its fan-out began and ended, in that order and on this machine's clock
// (workerd's Date.now()); without trace=1 the stats carry no timelines.
func TestEdgeFeedTrace(t *testing.T) {
	topic := uniqueTopic(t, "trace")
	c := subscribeSSE(t, sys.edgeURL+"/.well-known/mercure?topic="+url.QueryEscape(topic), nil)
	defer c.close()
	before := time.Now()
	id := publish(t, sys.originURL, url.Values{"topic": {topic}, "data": {"traced"}})
	if e := c.next(t, 10*time.Second); e.ID != id {
		t.Fatalf("got %+v, want %s", e, id)
	}
	after := time.Now()
	if _, ok := hubStats(t)["feedTrace"]; ok {
		t.Error("stats without trace=1 carry feedTrace")
	}
	var st struct {
		FeedTrace []edge.BatchTrace `json:"feedTrace"`
	}
	getJSON(t, sys.edgeURL+"/_edge/stats?trace=1", &st)
	for _, b := range st.FeedTrace {
		if b.LastID != id {
			continue
		}
		if b.Events != 1 || b.Writes < 1 {
			t.Errorf("fan-out of %s: %d events, %d writes; want 1 event and a write to the subscriber", id, b.Events, b.Writes)
		}
		lo, hi := float64(before.UnixMilli()-1), float64(after.UnixMilli()+1)
		steps := []float64{b.ArrivedMs, b.TakenMs, b.StartMs, b.DoneMs}
		for i, ms := range steps {
			if ms < lo || ms > hi || (i > 0 && ms < steps[i-1]) {
				t.Fatalf("fan-out of %s: arrived, taken, start, done = %.0f: want ascending within the publish's %.0f–%.0f", id, steps, lo, hi)
			}
		}
		t.Logf("fan-out of %s: taken %.0f ms after arrival, written %.0f ms after", id, b.TakenMs-b.ArrivedMs, b.DoneMs-b.TakenMs)
		return
	}
	t.Fatalf("no fan-out of %s among the %d traced", id, len(st.FeedTrace))
}
