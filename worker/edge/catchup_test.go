package edge_test

import (
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/worker/edge"
)

func TestHubCatchupFromOrigin(t *testing.T) {
	h := edge.NewHub(testCompiler, 2)
	var asked []edge.Fetch
	h.OnFetch = func(f edge.Fetch) { asked = append(asked, f) }
	hello(h, "e2")
	h.Deliver([]*edge.Event{event("e3", "a", false), event("e4", "a", false)})

	s := addClient(t, h, "a", "e0") // older than the ring (base e2)
	if len(asked) != 1 || asked[0].After != "e0" || asked[0].Until != "e4" {
		t.Fatalf("fetches %+v, want one for (e0, e4]", asked)
	}
	h.Deliver([]*edge.Event{event("e5", "a", false)}) // live, held during catch-up
	h.Heartbeat()                                     // written: finds clients that left
	if ids(s.got.String()) != "" || !strings.HasSuffix(s.got.String(), ":\n\n") {
		t.Fatalf("client got %q before its catch-up finished", s.got.String())
	}
	if st := h.Stats(); st.CatchingUp != 1 || st.CatchupQueue != 1 || st.CatchupInFlight != 1 {
		t.Fatalf("during catch-up: %+v", st)
	}
	h.FinishFetch(asked[0].Key, []*edge.Event{
		event("e1", "a", false), event("e2", "b", false), event("e3", "a", false), event("e4", "a", false),
	}, false)
	if got := ids(s.got.String()); got != "e1,e3,e4,e5" {
		t.Fatalf("after catch-up got %q, want e1,e3,e4,e5", got)
	}
	if st := h.Stats(); st.CatchingUp != 0 || st.CatchupQueue != 0 || st.CatchupInFlight != 0 || st.Catchups != 1 || st.CatchupFetches != 1 {
		t.Fatalf("after catch-up: %+v", st)
	}
	h.Deliver([]*edge.Event{event("e6", "a", false)})
	if got := ids(s.got.String()); got != "e1,e3,e4,e5,e6" {
		t.Fatalf("live after catch-up got %q", got)
	}
}

func TestHubCatchupGap(t *testing.T) {
	h := edge.NewHub(testCompiler, 2)
	var asked []edge.Fetch
	h.OnFetch = func(f edge.Fetch) { asked = append(asked, f) }
	hello(h, "e2")
	s := addClient(t, h, "a", "ancient")
	h.Deliver([]*edge.Event{event("e3", "a", false)})
	h.FinishFetch(asked[0].Key, nil, true)
	out := s.got.String()
	if !strings.Contains(out, mercure.MissedEventType) || ids(out) != "e3" {
		t.Fatalf("got %q, want the missed notice then e3", out)
	}
	if strings.Index(out, mercure.MissedEventType) > strings.Index(out, "id: e3") {
		t.Fatal("missed notice must come before the live events")
	}
}

func TestHubResumeBeforeAnchor(t *testing.T) {
	h := edge.NewHub(testCompiler, 4)
	s := addClient(t, h, "a", "e0") // the feed has not said hello yet
	hello(h, "e0")                  // the client's id is the base: nothing missed
	h.Deliver([]*edge.Event{event("e1", "a", false)})
	if got := ids(s.got.String()); got != "e1" {
		t.Fatalf("got %q, want e1", got)
	}
	if strings.Contains(s.got.String(), mercure.MissedEventType) {
		t.Fatal("unexpected missed notice")
	}
}

func TestHubKick(t *testing.T) {
	h := edge.NewHub(testCompiler, 4)
	s := &sink{}
	id := h.NextID()
	h.Add(&edge.Client{ID: id, Sink: s, Match: topicMatch("a")}, "")
	if !h.Kick(id) || !s.closed || h.Stats().Subscribers != 0 {
		t.Fatalf("kick: closed=%v stats=%+v", s.closed, h.Stats())
	}
}
