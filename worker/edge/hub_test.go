package edge_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/topic"
	"github.com/edge-sse/edge-sse/worker/edge"
)

// sink records what a client received; fail makes every write fail.
type sink struct {
	got    strings.Builder
	writes int
	fail   bool
	closed bool
}

func (s *sink) Write(c *edge.Chunk) bool {
	if s.fail {
		return false
	}
	s.writes++
	s.got.Write(c.Bytes)
	return true
}

func (s *sink) Close() { s.closed = true }

var testCompiler = func() *topic.Compiler {
	c, err := topic.NewCompiler(topic.Config{HubURL: "https://edge.example/.well-known/mercure"})
	if err != nil {
		panic(err)
	}
	return c
}()

func event(id, name string, private bool) *edge.Event {
	sseBytes := fmt.Sprintf("id: %s\ndata: %s\n\n", id, name)
	b := frame.AppendEvent(nil, &frame.Event{ID: id, Topics: []string{name}, Private: private, SSE: []byte(sseBytes)})
	var f frame.Frame
	if _, err := frame.Decode(b, frame.DefaultMaxSize, &f); err != nil {
		panic(err)
	}
	return edge.NewEvent(testCompiler, &f)
}

func topicMatch(name string) func(*edge.Event) bool {
	set, err := testCompiler.NewSet(topic.Spec{Kind: topic.KindExact, Expr: name})
	if err != nil {
		panic(err)
	}
	return func(e *edge.Event) bool { return !e.Private && set.MatchTopics(e.Topics) }
}

func addClient(t *testing.T, h *edge.Hub, topic, last string) *sink {
	t.Helper()
	s := &sink{}
	if !h.Add(&edge.Client{ID: h.NextID(), Sink: s, Match: topicMatch(topic)}, last) {
		t.Fatal("Add refused")
	}
	return s
}

func hello(h *edge.Hub, id string) {
	b := frame.AppendHello(nil, id)
	var f frame.Frame
	frame.Decode(b, frame.DefaultMaxSize, &f)
	h.OnFrame(&f)
}

func ids(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(l, "id: "); ok {
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}

func TestHubResumeFromRing(t *testing.T) {
	h := edge.NewHub(testCompiler, 3)
	hello(h, "e0")
	h.Deliver([]*edge.Event{event("e1", "a", false), event("e2", "b", false), event("e3", "a", false)})
	tests := []struct {
		name, last, want string
		missed           bool
	}{
		{"from base", "e0", "e1,e3", false},
		{"from middle", "e1", "e3", false},
		{"from newest", "e3", "", false},
		{"unknown id", "nope", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := addClient(t, h, "a", tt.last)
			if got := ids(s.got.String()); got != tt.want {
				t.Errorf("replayed %q, want %q", got, tt.want)
			}
			if missed := strings.Contains(s.got.String(), edge.MissedEventType); missed != tt.missed {
				t.Errorf("missed notice = %v, want %v", missed, tt.missed)
			}
		})
	}
	// The ring holds 3: after e4, e0 and e1 are gone and e1 is the base.
	h.Deliver([]*edge.Event{event("e4", "a", false)})
	if s := addClient(t, h, "a", "e0"); !strings.Contains(s.got.String(), edge.MissedEventType) {
		t.Errorf("resume from evicted e0 should get the missed notice, got %q", s.got.String())
	}
	if s := addClient(t, h, "a", "e1"); ids(s.got.String()) != "e3,e4" {
		t.Errorf("resume from base e1 got %q, want e3,e4", ids(s.got.String()))
	}
}

func TestHubBatchOneWritePerClient(t *testing.T) {
	h := edge.NewHub(testCompiler, 100)
	a1, a2, b := addClient(t, h, "a", ""), addClient(t, h, "a", ""), addClient(t, h, "b", "")
	for _, s := range []*sink{a1, a2, b} {
		s.writes = 0 // the connect comment
	}
	var batch []*edge.Event
	for i := range 70 { // more than 64 events: still one write each
		topic := "a"
		if i%3 == 0 {
			topic = "b"
		}
		batch = append(batch, event(fmt.Sprint(i), topic, false))
	}
	batch = append(batch, event("p", "a", true))
	h.Deliver(batch)
	if a1.writes != 1 || b.writes != 1 {
		t.Errorf("writes a1=%d b=%d, want 1 each (one per batch, however long)", a1.writes, b.writes)
	}
	if a1.got.String() != a2.got.String() {
		t.Error("clients with the same subscription got different bytes")
	}
	var wantA, wantB []string
	for i := range 70 {
		if i%3 == 0 {
			wantB = append(wantB, fmt.Sprint(i))
		} else {
			wantA = append(wantA, fmt.Sprint(i))
		}
	}
	if got := ids(a1.got.String()); got != strings.Join(wantA, ",") {
		t.Errorf("a got %s", got)
	}
	if got := ids(b.got.String()); got != strings.Join(wantB, ",") {
		t.Errorf("b got %s", got)
	}
	if st := h.Stats(); st.Deliveries != uint64(2*len(wantA)+len(wantB)) {
		t.Errorf("deliveries = %d, want %d", st.Deliveries, 2*len(wantA)+len(wantB))
	}
}

func TestHubDropsFailedClient(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	ok, bad := addClient(t, h, "a", ""), addClient(t, h, "a", "")
	bad.fail = true
	h.Deliver([]*edge.Event{event("e1", "a", false)})
	if !bad.closed || h.Stats().Subscribers != 1 || h.Stats().Dropped != 1 {
		t.Fatalf("failed client not dropped: closed=%v stats=%+v", bad.closed, h.Stats())
	}
	h.Heartbeat()
	h.Deliver([]*edge.Event{event("e2", "a", false)})
	if ids(ok.got.String()) != "e1,e2" {
		t.Fatalf("healthy client got %q", ok.got.String())
	}
}

func TestHubRemove(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	s := &sink{}
	id := h.NextID()
	h.Add(&edge.Client{ID: id, Sink: s, Match: topicMatch("a")}, "")
	if !h.Remove(id) || h.Remove(id) {
		t.Fatal("Remove should report true once")
	}
	if !s.closed {
		t.Fatal("Remove did not close the client's sink")
	}
	h.Deliver([]*edge.Event{event("e1", "a", false)})
	if s.writes != 1 { // only the connect comment
		t.Fatalf("removed client got %d writes", s.writes)
	}
}

func TestHubGapNotifiesEveryone(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	hello(h, "e0")
	s := addClient(t, h, "a", "")
	h.Deliver([]*edge.Event{event("e1", "a", false)})
	b := frame.AppendGap(nil, "e1")
	var f frame.Frame
	frame.Decode(b, frame.DefaultMaxSize, &f)
	h.OnFrame(&f)
	if !strings.Contains(s.got.String(), "event: "+edge.MissedEventType) {
		t.Fatalf("no missed notice after a gap: %q", s.got.String())
	}
	if st := h.Stats(); st.RingLen != 0 {
		t.Fatalf("ring not reset after a gap: %+v", st)
	}
}

// TestHubProbe: each Probe round writes a comment to the clients nothing
// was written to since the previous round, so an idle client that left
// is found within one round, and clients that events keep busy get no
// extra writes.
func TestHubProbe(t *testing.T) {
	h := edge.NewHub(testCompiler, 10)
	busy, idle := addClient(t, h, "a", ""), addClient(t, h, "b", "")
	h.Probe() // the connect comments are not counted: both get one
	if busy.writes != 2 || idle.writes != 2 {
		t.Fatalf("first round: writes busy=%d idle=%d, want 2 and 2", busy.writes, idle.writes)
	}
	for range 3 {
		h.Deliver([]*edge.Event{event("e", "a", false)})
		h.Probe()
	}
	if busy.writes != 5 || idle.writes != 5 {
		t.Fatalf("after 3 events and rounds: writes busy=%d idle=%d, want 5 (events only) and 5 (comments)", busy.writes, idle.writes)
	}
	if strings.Count(busy.got.String(), ":\n\n") != 2 {
		t.Fatalf("busy client got comments while events flowed: %q", busy.got.String())
	}
	idle.fail = true
	h.Probe()
	if !idle.closed || h.Subscribers() != 1 {
		t.Fatalf("a departed idle client survived a round: closed=%v subscribers=%d", idle.closed, h.Subscribers())
	}
}
