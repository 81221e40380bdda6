package edge_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// earliestHub returns a hub with a ring of ringSize that said hello at
// helloID and delivered e1 … en (topic "a" for odd, "b" for even ones),
// recording the fetches it asks for.
func earliestHub(t *testing.T, ringSize int, helloID string, n int) (*edge.Hub, *[]edge.Fetch) {
	t.Helper()
	h := edge.NewHub(testCompiler, ringSize)
	var asked []edge.Fetch
	h.OnFetch = func(f edge.Fetch) { asked = append(asked, f) }
	hello(h, helloID)
	for k := 1; k <= n; k++ {
		name, _ := alternate(k)
		h.Deliver([]*edge.Event{event(fmt.Sprint("e", k), name, false)})
	}
	return h, &asked
}

func TestHubEarliestFromRing(t *testing.T) {
	// The feed began at an empty origin and the ring evicted nothing: it
	// holds everything the origin holds.
	h, asked := earliestHub(t, 10, "", 5)
	if !h.InRing(edge.Earliest) {
		t.Error("InRing(earliest) = false for a ring holding the whole history")
	}
	s := addClient(t, h, "a", edge.Earliest)
	if got := ids(s.got.String()); got != "e1,e3,e5" {
		t.Errorf("earliest got %q, want e1,e3,e5", got)
	}
	if len(*asked) != 0 || strings.Contains(s.got.String(), edge.MissedEventType) {
		t.Errorf("earliest served from the ring should need no fetch and miss nothing: fetches %v, got %q", *asked, s.got.String())
	}
	// An empty origin: earliest is nothing, and nothing is missed.
	h, _ = earliestHub(t, 10, "", 0)
	if s := addClient(t, h, "a", edge.Earliest); strings.Contains(s.got.String(), edge.MissedEventType) {
		t.Errorf("earliest at an empty origin got %q", s.got.String())
	}
}

func TestHubEarliestBeforeHello(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	h.OnFetch = func(f edge.Fetch) { t.Errorf("unexpected fetch %+v", f) }
	if h.InRing(edge.Earliest) {
		t.Error("before the first Hello the ring cannot serve earliest")
	}
	s := addClient(t, h, "a", edge.Earliest)
	hello(h, "")
	h.Deliver([]*edge.Event{event("e1", "a", false)})
	if got := ids(s.got.String()); got != "e1" {
		t.Errorf("earliest before the Hello got %q, want e1", got)
	}
}

func TestHubEarliestThroughCatchup(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ringSize int
		helloID  string
	}{
		// The origin held events before the feed began: the ring cannot
		// know whether it holds the origin's oldest.
		{"origin had history", 10, "e0"},
		// The ring has evicted e1 and e2.
		{"ring evicted", 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, asked := earliestHub(t, tc.ringSize, tc.helloID, 5)
			if h.InRing(edge.Earliest) {
				t.Error("InRing(earliest) = true, want false")
			}
			a, b := addClient(t, h, "a", edge.Earliest), addClient(t, h, "b", edge.Earliest)
			if len(*asked) != 1 || (*asked)[0].After != edge.Earliest || (*asked)[0].Until != "e5" {
				t.Fatalf("fetches %+v, want one after earliest until e5 for both clients", *asked)
			}
			h.Deliver([]*edge.Event{event("e6", "b", false)}) // held while they wait
			// The origin's oldest retained event is e2.
			h.FinishFetch((*asked)[0].Key, []*edge.Event{
				event("e2", "b", false), event("e3", "a", false), event("e4", "b", false), event("e5", "a", false),
			}, false)
			if got := ids(a.got.String()); got != "e3,e5" {
				t.Errorf("a got %q, want e3,e5", got)
			}
			if got := ids(b.got.String()); got != "e2,e4,e6" {
				t.Errorf("b got %q, want e2,e4,e6", got)
			}
			checkHub(t, h)
		})
	}
}

// An origin that does not know earliest answers a gap: the client is told
// it missed events, as before earliest was supported.
func TestHubEarliestGap(t *testing.T) {
	h, asked := earliestHub(t, 2, "e0", 4)
	s := addClient(t, h, "a", edge.Earliest)
	h.FinishFetch((*asked)[0].Key, nil, true)
	if !strings.Contains(s.got.String(), "event: "+edge.MissedEventType) {
		t.Errorf("earliest answered by a gap got %q, want the missed notice", s.got.String())
	}
	checkHub(t, h)
}
