package edge_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/worker/edge"
)

// Events that arrive during a fan-out join it (Hub.DeliverMore): the
// clients it has not reached get them in the same write, the ones it has
// in one more round, and nobody gets an event twice or out of order.

func TestDeliverMoreJoinsTheFanoutInProgress(t *testing.T) {
	h := edge.NewHub(testCompiler, 100)
	hello(h, "")
	h.SetSlices(2, 0) // 8 clients: 4 slices, a call of more after each of the first 3
	sinks := make([]*sink, 8)
	for i := range sinks {
		sinks[i] = addClient(t, h, "a", "")
	}
	calls := 0
	more := func() []*edge.Event {
		calls++
		if calls == 1 {
			return []*edge.Event{event("2", "a", false)}
		}
		return nil
	}
	writes := h.DeliverMore([]*edge.Event{event("1", "a", false)}, more)
	// The first slice's 2 clients got event 1 alone and then 2 in a second
	// round; the 6 others both in one write: 10 writes, where a fan-out
	// per batch makes 16.
	if writes != 10 {
		t.Errorf("DeliverMore made %d writes, want 10", writes)
	}
	if calls != 3 {
		t.Errorf("more was called %d times, want 3 (after each slice but the last; none in a one-slice round)", calls)
	}
	joined := 0
	for i, s := range sinks {
		if got := ids(s.got.String()); got != "1,2" {
			t.Errorf("client %d got %q, want \"1,2\"", i, got)
		}
		// One write when it was added (the comment), then one or two.
		switch s.writes {
		case 2:
			joined++
		case 3:
		default:
			t.Errorf("client %d had %d writes, want 2 or 3", i, s.writes)
		}
	}
	if joined != 6 {
		t.Errorf("%d clients got both events in one write, want 6", joined)
	}
}

func TestDeliverMoreClientJoiningMeanwhile(t *testing.T) {
	h := edge.NewHub(testCompiler, 100)
	hello(h, "")
	h.SetSlices(1, 0)
	a := addClient(t, h, "a", "")
	b := addClient(t, h, "a", "")
	var late *sink
	calls := 0
	more := func() []*edge.Event {
		calls++
		switch calls {
		case 1:
			// Subscribes while event 1 is being written, before 2 arrives.
			late = addClient(t, h, "a", "")
			return []*edge.Event{event("2", "a", false)}
		case 2:
			return []*edge.Event{event("3", "b", false), event("4", "a", false)}
		}
		return nil
	}
	h.DeliverMore([]*edge.Event{event("1", "a", false)}, more)
	for name, s := range map[string]*sink{"a": a, "b": b} {
		if got := ids(s.got.String()); got != "1,2,4" {
			t.Errorf("client %s got %q, want \"1,2,4\"", name, got)
		}
	}
	if got := ids(late.got.String()); got != "2,4" {
		t.Errorf("the client that came during the fan-out got %q, want \"2,4\" (1 was published before it came)", got)
	}
}

// TestDeliverMoreRandomized runs fan-outs that events keep joining, with
// clients of two topics (some sharing matches by MatchKey) coming and
// going meanwhile, and checks that every client got exactly the events of
// its topic stored after it came, in order, once each.
func TestDeliverMoreRandomized(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runDeliverMore(t, rand.New(rand.NewPCG(seed, 7))) })
	}
}

type joinClient struct {
	id    uint64
	topic string
	s     *sink
	from  int // events stored when it came
	left  bool
}

func runDeliverMore(t *testing.T, r *rand.Rand) {
	h := edge.NewHub(testCompiler, 1000)
	hello(h, "")
	h.SetSlices(1+r.IntN(4), 0)
	var published []*edge.Event
	topics := []string{"a", "b"}
	var clients []*joinClient
	add := func() {
		c := &joinClient{id: h.NextID(), topic: topics[r.IntN(2)], s: &sink{}, from: len(published)}
		key := ""
		if r.IntN(2) == 0 {
			key = c.topic
		}
		if !h.Add(&edge.Client{ID: c.id, Sink: c.s, Match: topicMatch(c.topic), MatchKey: key}, "") {
			t.Fatal("Add refused")
		}
		clients = append(clients, c)
	}
	newEvents := func(n int) []*edge.Event {
		var out []*edge.Event
		for range n {
			e := event(fmt.Sprint(len(published)+1), topics[r.IntN(2)], false)
			published = append(published, e)
			out = append(out, e)
		}
		return out
	}
	for range 1 + r.IntN(12) {
		add()
	}
	arrivals := r.IntN(40) // then the origin goes quiet and the fan-outs end
	more := func() []*edge.Event {
		switch r.IntN(4) {
		case 0:
			add()
		case 1:
			if c := clients[r.IntN(len(clients))]; !c.left {
				h.Remove(c.id)
				c.left = true
			}
		}
		if arrivals == 0 || r.IntN(3) == 0 {
			return nil
		}
		arrivals--
		return newEvents(1 + r.IntN(3))
	}
	for range 1 + r.IntN(5) {
		h.DeliverMore(newEvents(1+r.IntN(3)), more)
	}
	for _, c := range clients {
		var want []string
		for _, e := range published[c.from:] {
			if strings.Contains(string(e.Chunk.Bytes), "data: "+c.topic+"\n") {
				want = append(want, e.ID)
			}
		}
		got := ids(c.s.got.String())
		if c.left {
			if !strings.HasPrefix(strings.Join(want, ","), got) {
				t.Errorf("client %d (%s, left) got %q, not a prefix of %q", c.id, c.topic, got, strings.Join(want, ","))
			}
			continue
		}
		if got != strings.Join(want, ",") {
			t.Errorf("client %d (%s, came after %d events) got %q, want %q", c.id, c.topic, c.from, got, strings.Join(want, ","))
		}
	}
}

// arrivingBody is a feed body whose bytes arrive while the hub fans out:
// add makes them readable, and Arrived says so without blocking.
type arrivingBody struct {
	mu     sync.Mutex
	data   []byte
	more   chan struct{}
	closed bool
}

func newArrivingBody(b []byte) *arrivingBody {
	return &arrivingBody{data: b, more: make(chan struct{}, 1)}
}

func (b *arrivingBody) add(p []byte) {
	b.mu.Lock()
	b.data = append(b.data, p...)
	b.mu.Unlock()
	select {
	case b.more <- struct{}{}:
	default:
	}
}

func (b *arrivingBody) Read(p []byte) (int, error) {
	for {
		b.mu.Lock()
		if len(b.data) > 0 {
			n := copy(p, b.data)
			b.data = b.data[n:]
			b.mu.Unlock()
			return n, nil
		}
		if b.closed {
			b.mu.Unlock()
			return 0, io.EOF
		}
		b.mu.Unlock()
		<-b.more
	}
}

func (b *arrivingBody) Arrived() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data) > 0
}

func (b *arrivingBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.more <- struct{}{}:
	default:
	}
	return nil
}

func TestFeedJoinsArrivalsToTheFanout(t *testing.T) {
	h, sinks, b := joinSetup(t)
	// While e1 is being written, e2, a heartbeat, e3, a gap and e4 arrive.
	// e2 and e3 join e1's fan-out; the gap is applied after it, between
	// e3 and e4, as the origin sent it.
	var once sync.Once
	h.Yield = func() {
		once.Do(func() {
			b.add(frames(eventFrame("e2", "a"), frame.AppendHeartbeat(nil, 1), eventFrame("e3", "a"), frame.AppendGap(nil, "e3"), eventFrame("e4", "a")))
		})
	}
	runArriving(t, h, b)
	waitFor(t, func() bool {
		for _, s := range sinks {
			if !strings.Contains(s.String(), "id: e4") {
				return false
			}
		}
		return true
	})
	joined := 0
	for i, s := range sinks {
		got := s.String()
		if ids(got) != "e1,e2,e3,e4" {
			t.Errorf("client %d got ids %q, want \"e1,e2,e3,e4\"", i, ids(got))
		}
		gap, e3, e4 := strings.Index(got, "event: mercure-missed"), strings.Index(got, "id: e3"), strings.Index(got, "id: e4")
		if gap < 0 || gap < e3 || gap > e4 {
			t.Errorf("client %d: the gap's notice is not between e3 and e4: %q", i, got)
		}
		// The comment when added, e1 to e3 in one or two writes, the
		// notice, e4.
		if s.Writes() == 4 {
			joined++
		}
	}
	// The first slice's 2 clients got e1 before e2 and e3 arrived; the
	// other 4 got the three in one write.
	if joined != 4 {
		t.Errorf("%d clients got e1 to e3 in one write, want 4", joined)
	}
	tr := h.Trace()
	if len(tr) == 0 || tr[0].LastID != "e1" || tr[0].Events != 1 || tr[0].Joined != 2 {
		t.Fatalf("first fan-out's trace %+v, want lastID e1, 1 event, 2 joined", tr)
	}
	// Two rounds: all 6 clients, then the 2 that e2 and e3 missed.
	e23 := len("id: e2\ndata: a\n\n") + len("id: e3\ndata: a\n\n")
	if r := tr[0].Rounds; len(r) != 2 || r[0].Writes != 6 || r[1].Writes != 2 || r[1].Bytes != 2*e23 || r[0].StartMs > r[1].StartMs {
		t.Errorf("rounds %+v, want 6 writes, then 2 of %d bytes", r, 2*e23)
	}
}

// TestFeedJoinNeverWaitsForAFrame: half a frame arriving during a fan-out
// does not hold the fan-out up; the frame goes out once its rest comes.
func TestFeedJoinNeverWaitsForAFrame(t *testing.T) {
	h, sinks, b := joinSetup(t)
	e3 := eventFrame("e3", "a")
	// e2 arrives at the first yield, half of e3 at the second.
	yields := 0
	h.Yield = func() {
		yields++
		switch yields {
		case 1:
			b.add(eventFrame("e2", "a"))
		case 2:
			b.add(e3[:len(e3)/2])
		}
	}
	runArriving(t, h, b)
	all := func(id string) func() bool {
		return func() bool {
			for _, s := range sinks {
				if !strings.Contains(s.String(), "id: "+id+"\n") {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, all("e2")) // without the rest of e3
	b.add(e3[len(e3)/2:])
	waitFor(t, all("e3"))
	for i, s := range sinks {
		if got := ids(s.String()); got != "e1,e2,e3" {
			t.Errorf("client %d got %q, want \"e1,e2,e3\"", i, got)
		}
	}
}

// runArriving runs h's feed on b until the test ends (startFeed).
func runArriving(t *testing.T, h *edge.Hub, b *arrivingBody) {
	startFeed(t, h, b, func() { b.Close() })
}

// startFeed runs h's feed on body until the test ends; then it removes
// h's clients, calls end (which must make the body's reads end) and waits
// for the feed to stop.
func startFeed(t *testing.T, h *edge.Hub, body io.ReadCloser, end func()) {
	sc := &script{t: t}
	sc.steps = append(sc.steps, func(string) (io.ReadCloser, error) { return body, nil })
	f := sc.feed(h)
	f.Idle = time.Millisecond
	done := make(chan struct{})
	go func() {
		f.Run()
		close(done)
	}()
	t.Cleanup(func() {
		for id, n := uint64(1), h.NextID(); id < n; id++ {
			h.Remove(id)
		}
		end()
		<-done
	})
}

// joinSetup returns a hub with slices of 2 writes, its 6 clients on topic
// "a", and a feed body whose first bytes are a Hello and e1.
func joinSetup(t *testing.T) (*edge.Hub, []*safeSink, *arrivingBody) {
	h := edge.NewHub(testCompiler, 100)
	h.SetSlices(2, 64)
	sinks := make([]*safeSink, 6)
	for i := range sinks {
		_, sinks[i] = addSafe(t, h, "a", "")
	}
	return h, sinks, newArrivingBody(frames(frame.AppendHello(nil, "e0"), eventFrame("e1", "a")))
}
