package edge

import (
	"strings"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/frame"
)

// countingBatch is a BatchWriter that enqueues to each stream in turn and
// counts its calls.
type countingBatch struct{ calls, writes int }

func (b *countingBatch) EnqueueBatch(c *Chunk, ws []Writer, limits []QueueLimit, waiting []Queued) {
	b.calls++
	for i, w := range ws {
		waiting[i] = w.Enqueue(c, limits[i])
		b.writes++
	}
}

// A fan-out through a BatchWriter makes one call per slice and chunk, not
// one per client, writes every client exactly what Enqueue would, and
// still drops a client past its queue limit.
func TestBatchWriterFanout(t *testing.T) {
	h := testHub(t)
	b := &countingBatch{}
	h.SetBatchWriter(b)
	var yields int
	h.Yield = func() { yields++ }
	n := 2*DefaultSliceWrites + 10
	streams := make([]*stream, n)
	for i := range streams {
		streams[i] = &stream{reading: true}
		if i == 0 {
			streams[i].reading = false // never reads: dropped past Queue
		}
		if !h.Attach(h.NextID(), streams[i], all, nil, "", time.Time{}, StreamOptions{Queue: 3}) {
			t.Fatal("Attach refused")
		}
	}
	e := func(id string) *Event {
		return &Event{ID: id, Topics: h.compiler.Prepare("a"), Chunk: &Chunk{Bytes: []byte("id: " + id + "\ndata: x\n\n")}}
	}
	if w := h.Deliver([]*Event{e("e1")}); w != n {
		t.Fatalf("Deliver made %d writes, want %d", w, n)
	}
	if b.calls != 3 || b.writes != n || yields != 2 {
		t.Fatalf("%d batch calls for %d writes with %d yields, want 3 calls (one per slice of %d), %d writes, 2 yields", b.calls, b.writes, yields, DefaultSliceWrites, n)
	}
	// Two events more: the client that never reads has the retry advice,
	// the connect comment and e1..e3 waiting, past Queue 3 at e3.
	h.Deliver([]*Event{e("e2")})
	h.Deliver([]*Event{e("e3")})
	if !streams[0].isClosed() {
		t.Fatal("the client that never reads was not dropped through the batch")
	}
	if st := h.Stats(); st.Subscribers != n-1 || st.Dropped != 1 {
		t.Fatalf("stats %+v, want %d subscribers, 1 dropped", st, n-1)
	}
	for i, s := range streams[1:] {
		if got := strings.Count(s.String(), "id: e"); got != 3 {
			t.Fatalf("stream %d got %d events: %q", i+1, got, s.String())
		}
	}
	// Heartbeats go through the batch too.
	calls := b.calls
	h.Heartbeat()
	if got := b.calls - calls; got != 3 {
		t.Fatalf("a heartbeat to %d clients made %d batch calls, want 3", n-1, got)
	}
	if st := h.Stats(); st.Deliveries != uint64(3*(n-1)+2+(n-1)) {
		t.Fatalf("deliveries %d, want %d", st.Deliveries, 3*(n-1)+2+(n-1))
	}
}

// A client that resumes during a yield of a sliced fan-out gets the events
// in progress once (from the ring), and a client removed during a yield is
// not written to.
func TestSlicedFanoutYield(t *testing.T) {
	h := testHub(t)
	h.OnFrame(&frame.Frame{Type: frame.TypeHello, ID: []byte("e0")})
	n := 2 * DefaultSliceWrites
	ids := make([]uint64, n)
	streams := make([]*stream, n)
	for i := range streams {
		streams[i] = &stream{reading: true}
		ids[i] = h.NextID()
		if !h.Attach(ids[i], streams[i], all, nil, "", time.Time{}, StreamOptions{Queue: 100}) {
			t.Fatal("Attach refused")
		}
	}
	late := &stream{reading: true}
	var removed []*stream
	h.Yield = func() {
		if removed != nil {
			return
		}
		// The second slice's clients are not written yet: remove them.
		for i, s := range streams {
			if !strings.Contains(s.String(), "id: e1") {
				h.Remove(ids[i])
				removed = append(removed, s)
			}
		}
		if !h.Attach(h.NextID(), late, all, nil, "e0", time.Time{}, StreamOptions{Queue: 100}) {
			t.Error("Attach during the yield refused")
		}
	}
	ev := &Event{ID: "e1", Topics: h.compiler.Prepare("a"), Chunk: &Chunk{Bytes: []byte("id: e1\ndata: x\n\n")}}
	h.Deliver([]*Event{ev})
	if len(removed) != DefaultSliceWrites {
		t.Fatalf("%d clients unwritten at the yield, want %d", len(removed), DefaultSliceWrites)
	}
	for _, s := range removed {
		if strings.Contains(s.String(), "e1") {
			t.Fatal("a client removed during the yield was written to")
		}
	}
	if got := strings.Count(late.String(), "id: e1"); got != 1 {
		t.Fatalf("the client that resumed during the yield got e1 %d times: %q", got, late.String())
	}
}

// Clients with the same MatchKey are matched once per event and fan-out,
// across the slices of the fan-out; a client with another key, or none,
// is matched on its own.
func TestMatchKeySharesMatching(t *testing.T) {
	h := testHub(t)
	calls := map[string]int{}
	matcher := func(key string) func(*Event) bool {
		return func(e *Event) bool { calls[key]++; return e.ID != "e2" }
	}
	n := DefaultSliceWrites + 44
	streams := make([]*stream, n)
	for i := range streams {
		streams[i] = &stream{reading: true}
		h.Attach(h.NextID(), streams[i], matcher("k"), nil, "", time.Time{}, StreamOptions{Queue: 100, MatchKey: "k"})
	}
	other, unkeyed := &stream{reading: true}, &stream{reading: true}
	h.Attach(h.NextID(), other, matcher("other"), nil, "", time.Time{}, StreamOptions{Queue: 100, MatchKey: "other"})
	h.Attach(h.NextID(), unkeyed, matcher(""), nil, "", time.Time{}, StreamOptions{Queue: 100})
	ev := func(id string) *Event {
		return &Event{ID: id, Topics: h.compiler.Prepare("a"), Chunk: &Chunk{Bytes: []byte("id: " + id + "\ndata: x\n\n")}}
	}
	h.Deliver([]*Event{ev("e1"), ev("e2"), ev("e3")})
	if calls["k"] != 3 || calls["other"] != 3 || calls[""] != 3 {
		t.Fatalf("Match calls per key %v, want 3 each (3 events, once per key)", calls)
	}
	for i, s := range append(streams, other, unkeyed) {
		if got := s.String(); !strings.Contains(got, "id: e1\n") || strings.Contains(got, "id: e2\n") || !strings.Contains(got, "id: e3\n") {
			t.Fatalf("stream %d got %q, want e1 and e3", i, got)
		}
	}
}

// SetSlices changes the writes per slice of a fan-out and of a probe
// round: 35 clients in slices of 10 are 4 slices, 3 yields each.
func TestSetSlices(t *testing.T) {
	h, b, yields := slicedHub(t, 0)
	b.calls, *yields = 0, 0
	h.Probe() // the clients were written to since the last round: none probed
	h.Probe()
	if *yields != 3 {
		t.Fatalf("a probe round of 35 clients yielded %d times, want 3", *yields)
	}
	if h.decodeSlice() != DefaultDecodeSlice {
		t.Fatalf("decode slice %d, want the default %d", h.decodeSlice(), DefaultDecodeSlice)
	}
	h.SetSlices(0, 7)
	if h.decodeSlice() != 7 || h.reg.perSlice() != DefaultSliceWrites {
		t.Fatalf("SetSlices(0, 7): %d writes, %d events per slice", h.reg.perSlice(), h.decodeSlice())
	}
}

// SetRoundSlice cuts heartbeat and probe rounds into their own slices and
// leaves a fan-out's alone: 35 clients are 4 fan-out slices of 10 but 9
// round slices of 4; 0 gives rounds the fan-out's slices again.
func TestSetRoundSlice(t *testing.T) {
	h, b, y := slicedHub(t, 4)
	*y, b.calls = 0, 0
	h.Probe() // the clients were written to since the last round: none probed
	h.Probe()
	if *y != 8 || b.calls != 9 {
		t.Fatalf("a probe round of 35 clients in slices of 4: %d batch calls, %d yields, want 9 and 8", b.calls, *y)
	}
	*y, b.calls = 0, 0
	h.Heartbeat()
	if *y != 8 || b.calls != 9 {
		t.Fatalf("a heartbeat to 35 clients in slices of 4: %d batch calls, %d yields, want 9 and 8", b.calls, *y)
	}
	h.SetRoundSlice(0)
	*y, b.calls = 0, 0
	h.Heartbeat()
	if *y != 3 || b.calls != 4 {
		t.Fatalf("after SetRoundSlice(0), a heartbeat to 35 clients: %d batch calls, %d yields, want the fan-out's 4 and 3", b.calls, *y)
	}
}

// slicedHub returns a hub with 35 clients, fan-out slices of 10 and round
// slices of round, its batch writer and its count of yields, after one
// event delivered to every client (4 slices, 3 yields, checked here).
func slicedHub(t *testing.T, round int) (*Hub, *countingBatch, *int) {
	t.Helper()
	h := testHub(t)
	b := &countingBatch{}
	h.SetBatchWriter(b)
	h.SetSlices(10, 0)
	h.SetRoundSlice(round)
	yields := new(int)
	h.Yield = func() { *yields++ }
	for range 35 {
		if !h.Attach(h.NextID(), &stream{reading: true}, all, nil, "", time.Time{}, StreamOptions{}) {
			t.Fatal("Attach refused")
		}
	}
	e := &Event{ID: "e1", Topics: h.compiler.Prepare("a"), Chunk: &Chunk{Bytes: []byte("id: e1\ndata: x\n\n")}}
	if w := h.Deliver([]*Event{e}); w != 35 || b.calls != 4 || *yields != 3 {
		t.Fatalf("Deliver: %d writes in %d batch calls with %d yields, want 35 in 4 with 3", w, b.calls, *yields)
	}
	return h, b, yields
}
