package edge_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// origin is a fake origin holding the whole history e1, e2, … (events[k-1]
// is ek); it no longer holds the first floor events.
type origin struct {
	events []*edge.Event
	floor  int
}

// pos returns how many events come up to and including id, and whether
// the origin still holds id.
func (o *origin) pos(id string) (int, bool) {
	k, err := strconv.Atoi(strings.TrimPrefix(id, "e"))
	if !strings.HasPrefix(id, "e") || err != nil || k < 1 || k > len(o.events) {
		return 0, false
	}
	return k, k > o.floor
}

// publish appends n events to the history and delivers them to h in one
// batch; topic picks each event's topic and privacy.
func (o *origin) publish(h *edge.Hub, n int, topic func(k int) (string, bool)) {
	var batch []*edge.Event
	for range n {
		k := len(o.events) + 1
		name, private := topic(k)
		e := event("e"+strconv.Itoa(k), name, private)
		o.events = append(o.events, e)
		batch = append(batch, e)
	}
	h.Deliver(batch)
}

// answer is what the origin's bounded feed returns for f.
func (o *origin) answer(t testing.TB, f edge.Fetch) ([]*edge.Event, bool) {
	t.Helper()
	from, ok := o.pos(f.After)
	if !ok {
		return nil, true
	}
	to, ok := o.pos(f.Until)
	if !ok || to < from {
		t.Fatalf("fetch %+v: the range ends before it starts or at an id the origin never had", f)
	}
	return append([]*edge.Event(nil), o.events[from:to]...), false
}

// want returns the ids of the history after the first n events that match.
func (o *origin) want(n int, match func(*edge.Event) bool) string {
	var out []string
	for _, e := range o.events[n:] {
		if match(e) {
			out = append(out, e.ID)
		}
	}
	return strings.Join(out, ",")
}

// fetches records the hub's fetches and checks the rules of OnFetch.
type fetches struct {
	t        testing.TB
	h        *edge.Hub
	o        *origin
	asked    []edge.Fetch
	inflight []edge.Fetch // in the order asked
	most     int
}

func newFetches(t testing.TB, h *edge.Hub, o *origin) *fetches {
	fs := &fetches{t: t, h: h, o: o}
	h.OnFetch = func(f edge.Fetch) {
		for _, g := range fs.inflight {
			if g.After == f.After {
				t.Errorf("fetch %+v issued while %+v is in flight", f, g)
			}
		}
		fs.asked = append(fs.asked, f)
		fs.inflight = append(fs.inflight, f)
		fs.most = max(fs.most, len(fs.inflight))
	}
	return fs
}

func (fs *fetches) take(i int) edge.Fetch {
	f := fs.inflight[i]
	fs.inflight = append(fs.inflight[:i], fs.inflight[i+1:]...)
	return f
}

// finish answers the i-th fetch in flight from the origin.
func (fs *fetches) finish(i int) {
	f := fs.take(i)
	events, gap := fs.o.answer(fs.t, f)
	fs.h.FinishFetch(f.Key, events, gap)
}

// fail ends the i-th fetch in flight as if the origin could not be asked.
func (fs *fetches) fail(i int) { fs.h.FailFetch(fs.take(i).Key) }

// client is a test subscriber and what it should receive.
type client struct {
	id    uint64
	s     *sink
	topic string
	last  string
	// joined is the history's length when the client joined, held the
	// ring's newest id then (where a client told of missed events goes on).
	joined int
	held   string
}

func join(t testing.TB, h *edge.Hub, o *origin, topic, last string) *client {
	t.Helper()
	c := &client{id: h.NextID(), s: &sink{}, topic: topic, last: last, joined: len(o.events), held: h.LastEventID()}
	if !h.Add(&edge.Client{ID: c.id, Sink: c.s, Match: topicMatch(topic)}, last) {
		t.Fatal("Add refused")
	}
	return c
}

// check asserts that c received exactly the events after its Last-Event-ID
// that match its topic, in order, with no missed notice.
func (c *client) check(t testing.TB, o *origin) {
	t.Helper()
	n := c.joined
	if c.last != "" {
		n, _ = o.pos(c.last)
	}
	got, want := ids(c.s.got.String()), o.want(n, topicMatch(c.topic))
	if got != want {
		t.Errorf("client %d (%s after %q) got\n  %s\nwant\n  %s", c.id, c.topic, c.last, got, want)
	}
	if strings.Contains(c.s.got.String(), edge.MissedEventType) {
		t.Errorf("client %d (after %q) got a missed notice", c.id, c.last)
	}
}

// checkMissed asserts that c received the missed notice, then exactly the
// events after the ring's newest id when it joined.
func (c *client) checkMissed(t testing.TB, o *origin) {
	t.Helper()
	out := c.s.got.String()
	if strings.Count(out, "event: "+edge.MissedEventType) != 1 {
		t.Errorf("client %d (after %q): want one missed notice, got %q", c.id, c.last, out)
		return
	}
	if i := strings.Index(out, "id: "); i >= 0 && i < strings.Index(out, edge.MissedEventType) {
		t.Errorf("client %d: events before the missed notice: %q", c.id, out)
	}
	n, _ := o.pos(c.held)
	if got, want := ids(out), o.want(n, topicMatch(c.topic)); got != want {
		t.Errorf("client %d (%s after %q, missed) got\n  %s\nwant\n  %s", c.id, c.topic, c.last, got, want)
	}
}

func checkHub(t testing.TB, h *edge.Hub) {
	t.Helper()
	if err := h.CheckCatchup(); err != nil {
		t.Fatal(err)
	}
}

// setup returns a hub with a ring of ringSize whose feed said hello at e0
// and delivered n events (e1 … en, topic "a" for odd, "b" for even ones).
func setup(t testing.TB, ringSize, n int) (*edge.Hub, *origin, *fetches) {
	h := edge.NewHub(testCompiler, ringSize)
	o := &origin{}
	fs := newFetches(t, h, o)
	hello(h, "e0")
	o.publish(h, n, alternate)
	return h, o, fs
}

func alternate(k int) (string, bool) {
	if k%2 == 1 {
		return "a", false
	}
	return "b", false
}

func TestCatchupCoalesces(t *testing.T) {
	afters := []string{"e5", "e10", "e15", "e20", "e25"}
	tests := []struct {
		name  string
		order []int // the order the five ids first join in
		// fetches: one per id older than every id that joined before it.
		fetches int
	}{
		{"oldest first", []int{0, 1, 2, 3, 4}, 1},
		{"middle first", []int{2, 0, 4, 1, 3}, 2},
		{"newest first", []int{4, 3, 2, 1, 0}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, o, fs := setup(t, 4, 40) // the ring holds e37 … e40
			var cs []*client
			for i := range 50 {
				topic := "a"
				if i%2 == 1 {
					topic = "b"
				}
				cs = append(cs, join(t, h, o, topic, afters[tt.order[i%5]]))
			}
			checkHub(t, h)
			if st := h.Stats(); st.CatchingUp != 50 || st.CatchupQueue != 50 || st.Catchups != 50 || st.CatchupInFlight != 1 {
				t.Fatalf("after the joins: %+v", st)
			}
			o.publish(h, 2, alternate) // live, held during the catch-up
			for len(fs.inflight) > 0 {
				fs.finish(0)
				checkHub(t, h)
				// Later fetches reach past the clients' ranges: the hub must cut.
				o.publish(h, 1, alternate)
			}
			o.publish(h, 1, alternate) // live
			for _, c := range cs {
				c.check(t, o)
			}
			if len(fs.asked) != tt.fetches || fs.most != 1 {
				t.Errorf("fetches %+v (at most %d in flight), want %d", fs.asked, fs.most, tt.fetches)
			}
			st := h.Stats()
			if st.Subscribers != 50 || st.CatchingUp != 0 || st.CatchupQueue != 0 || st.CatchupInFlight != 0 ||
				st.Catchups != 50 || st.CatchupFetches != uint64(tt.fetches) {
				t.Errorf("after the catch-up: %+v", st)
			}
		})
	}
}

// TestCatchupJoinDuringFetch: clients that join while a fetch is in flight,
// when live events arrived since it was issued, have ranges reaching past
// its Until. They get later fetches, and none of them receives a live event
// twice (from a fetch and from what was held for it).
func TestCatchupJoinDuringFetch(t *testing.T) {
	for _, firstDone := range []int{0, 1} {
		t.Run(fmt.Sprintf("fetch %d answered first", firstDone+1), func(t *testing.T) {
			h, o, fs := setup(t, 4, 40)
			a := join(t, h, o, "a", "e5") // fetch 1: (e5, e40]
			o.publish(h, 2, alternate)    // e41, e42
			b := join(t, h, o, "a", "e5") // same id as fetch 1, range to e42: waits
			c := join(t, h, o, "b", "e10")
			d := join(t, h, o, "a", "e20")
			if len(fs.asked) != 2 || fs.asked[1].After != "e10" || fs.asked[1].Until != "e42" {
				t.Fatalf("fetches %+v, want (e5, e40] and (e10, e42]", fs.asked)
			}
			o.publish(h, 1, alternate) // e43
			fs.finish(firstDone)
			checkHub(t, h)
			fs.finish(0)
			checkHub(t, h)
			if len(fs.inflight) != 1 || fs.inflight[0].After != "e5" || fs.inflight[0].Until != "e43" {
				t.Fatalf("in flight %+v, want (e5, e43] for the client that joined at e42", fs.inflight)
			}
			o.publish(h, 1, alternate) // e44, past every range
			fs.finish(0)
			o.publish(h, 1, alternate) // e45
			for _, c := range []*client{a, b, c, d} {
				c.check(t, o)
			}
			if st := h.Stats(); st.CatchingUp != 0 || st.CatchupFetches != 3 || st.Catchups != 4 {
				t.Errorf("stats %+v", st)
			}
			checkHub(t, h)
		})
	}
}

// TestCatchupGapOneID: the origin no longer holding one client's id tells
// only the clients resuming from that id.
func TestCatchupGapOneID(t *testing.T) {
	h, o, fs := setup(t, 4, 40)
	x1 := join(t, h, o, "a", "gone")
	y := join(t, h, o, "a", "e10")
	x2 := join(t, h, o, "b", "gone")
	o.publish(h, 2, alternate)
	if len(fs.inflight) != 1 || fs.inflight[0].After != "gone" {
		t.Fatalf("in flight %+v, want one fetch after %q", fs.inflight, "gone")
	}
	fs.finish(0)
	checkHub(t, h)
	x1.checkMissed(t, o)
	x2.checkMissed(t, o)
	if y.s.got.String() != ":\n\n" {
		t.Fatalf("client after e10 got %q before its fetch", y.s.got.String())
	}
	if st := h.Stats(); st.Gaps != 2 || st.CatchingUp != 1 || st.CatchupInFlight != 1 {
		t.Fatalf("stats %+v", st)
	}
	fs.finish(0)
	o.publish(h, 1, alternate)
	y.check(t, o)
	x1.checkMissed(t, o)
	checkHub(t, h)
}

// TestCatchupFailFetch: a fetch the origin did not answer disconnects the
// clients resuming from its id, and only them.
func TestCatchupFailFetch(t *testing.T) {
	h, o, fs := setup(t, 4, 40)
	x1 := join(t, h, o, "a", "e5")
	y := join(t, h, o, "a", "e10")
	x2 := join(t, h, o, "b", "e5")
	o.publish(h, 1, alternate)
	fs.fail(0)
	checkHub(t, h)
	if !x1.s.closed || !x2.s.closed || y.s.closed {
		t.Fatalf("closed: x1=%v x2=%v y=%v; want the e5 clients only", x1.s.closed, x2.s.closed, y.s.closed)
	}
	if ids(x1.s.got.String()) != "" || ids(x2.s.got.String()) != "" {
		t.Fatal("disconnected clients got events")
	}
	if st := h.Stats(); st.Subscribers != 1 || st.CatchingUp != 1 || st.CatchupQueue != 1 || st.CatchupInFlight != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(fs.inflight) != 1 || fs.inflight[0].After != "e10" {
		t.Fatalf("in flight %+v, want one after e10", fs.inflight)
	}
	h.FailFetch(fs.asked[0].Key)                   // already ended: no effect
	h.FinishFetch(fs.asked[0].Key, nil, true)      // neither
	h.FinishFetch(fs.inflight[0].Key+1, nil, true) // never issued
	fs.finish(0)
	o.publish(h, 1, alternate)
	y.check(t, o)
	if st := h.Stats(); st.CatchingUp != 0 || st.Gaps != 0 {
		t.Fatalf("stats %+v", st)
	}
	checkHub(t, h)
}

// TestCatchupShortAnswer: an answer that stops before a range it had to
// cover disconnects the clients it was issued for instead of asking again.
func TestCatchupShortAnswer(t *testing.T) {
	h, o, fs := setup(t, 4, 40)
	c := join(t, h, o, "a", "e5")
	f := fs.take(0)
	h.FinishFetch(f.Key, o.events[5:20], false)
	if !c.s.closed || len(fs.inflight) != 0 || ids(c.s.got.String()) != "" {
		t.Fatalf("closed=%v in flight %+v got %q", c.s.closed, fs.inflight, c.s.got.String())
	}
	if st := h.Stats(); st.Subscribers != 0 || st.CatchingUp != 0 {
		t.Fatalf("stats %+v", st)
	}
	checkHub(t, h)
}

// TestCatchupLeaveWhileWaiting: clients that leave while they wait, however
// they leave, leave nothing behind.
func TestCatchupLeaveWhileWaiting(t *testing.T) {
	h, o, fs := setup(t, 4, 40)
	removed := join(t, h, o, "a", "e5")
	kicked := join(t, h, o, "a", "e10")
	failing := join(t, h, o, "a", "e20")
	overfull := join(t, h, o, "b", "e15")
	if st := h.Stats(); st.CatchingUp != 4 || st.CatchupQueue != 4 {
		t.Fatalf("stats %+v", st)
	}
	if !h.Remove(removed.id) || !h.Kick(kicked.id) {
		t.Fatal("Remove or Kick did not find the client")
	}
	failing.s.fail = true
	h.Heartbeat() // finds the failing client
	checkHub(t, h)
	for range edge.MaxHeld + 1 { // one chunk each, held for overfull
		o.publish(h, 1, func(int) (string, bool) { return "b", false })
	}
	checkHub(t, h)
	if !kicked.s.closed || !failing.s.closed || !overfull.s.closed {
		t.Fatalf("closed: kicked=%v failing=%v overfull=%v", kicked.s.closed, failing.s.closed, overfull.s.closed)
	}
	if st := h.Stats(); st.Subscribers != 0 || st.CatchingUp != 0 || st.CatchupQueue != 0 || h.CatchingUp() != 0 {
		t.Fatalf("stats %+v", st)
	}
	writes := removed.s.writes
	fs.finish(0)
	if removed.s.writes != writes || len(fs.inflight) != 0 {
		t.Fatalf("a fetch served a removed client or issued another: %+v", fs.inflight)
	}
	if st := h.Stats(); st.CatchupInFlight != 0 || st.CatchupFetches != 1 {
		t.Fatalf("stats %+v", st)
	}
	checkHub(t, h)
}

// TestCatchupMaxFetches: clients whose ranges no fetch in flight covers get
// their own fetches, at most MaxFetches at a time.
func TestCatchupMaxFetches(t *testing.T) {
	for _, limit := range []int{0, 1, 3} {
		t.Run(fmt.Sprint("MaxFetches=", limit), func(t *testing.T) {
			h, o, fs := setup(t, 4, 40)
			h.MaxFetches = limit
			want := limit
			if want == 0 {
				want = edge.DefaultMaxFetches
			}
			var cs []*client
			for i := range 8 {
				// A newer ring each time: no fetch in flight can cover it.
				cs = append(cs, join(t, h, o, "a", fmt.Sprint("e", 30-3*i)))
				o.publish(h, 1, alternate)
				checkHub(t, h)
			}
			if len(fs.inflight) != want {
				t.Fatalf("%d fetches in flight, want %d", len(fs.inflight), want)
			}
			for len(fs.inflight) > 0 {
				fs.finish(len(fs.inflight) - 1) // the newest first
				checkHub(t, h)
				o.publish(h, 1, alternate)
			}
			for _, c := range cs {
				c.check(t, o)
			}
			if fs.most != want {
				t.Errorf("at most %d fetches in flight, want %d", fs.most, want)
			}
			if st := h.Stats(); st.CatchingUp != 0 || st.CatchupFetches != uint64(len(fs.asked)) || st.Catchups != 8 {
				t.Errorf("stats %+v after %d fetches", st, len(fs.asked))
			}
		})
	}
}

func TestHubInRing(t *testing.T) {
	h := edge.NewHub(testCompiler, 2)
	if !h.InRing("") || h.InRing("e1") {
		t.Fatal("before the feed's Hello: InRing(\"\") must be true, and an id may need catch-up (false)")
	}
	// The origin held nothing when the feed began: an id is answered at
	// once (unknown), without a fetch.
	empty := edge.NewHub(testCompiler, 2)
	hello(empty, "")
	if !empty.InRing("e1") {
		t.Error("InRing on a hub whose origin held nothing must be true: no fetch is needed")
	}
	hello(h, "e0")
	h.Deliver([]*edge.Event{event("e1", "a", false), event("e2", "a", false), event("e3", "a", false)})
	for id, want := range map[string]bool{"": true, "e0": false, "e1": true, "e2": true, "e3": true, "e4": false, "x": false} {
		if got := h.InRing(id); got != want {
			t.Errorf("InRing(%q) = %v, want %v", id, got, want)
		}
	}
}
