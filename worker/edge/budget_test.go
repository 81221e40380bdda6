package edge_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// budgetHub is a hub whose CPU budget is 1,000 writes (events or
// heartbeat comments, their bytes free) of 1 ms each, with shedding from
// half of it, 10% of the streams a step.
func budgetHub(ring int) *edge.Hub {
	h := edge.NewHub(testCompiler, ring)
	h.Budget = edge.Budget{CPU: time.Second, WriteCost: time.Millisecond, CommentCost: time.Millisecond, ShedAt: 50, ShedPct: 10}
	hello(h, "e0")
	return h
}

// TestBudgetShedsBeforeTheLimit: with no incoming request, a hub fanning
// events out closes 10% of its streams once half its budget is spent, and
// more at each further tenth of the rest, and the last of them before the
// spending reaches the budget: the platform's limit is never hit.
func TestBudgetShedsBeforeTheLimit(t *testing.T) {
	h := budgetHub(16)
	var sinks []*sink
	for range 100 {
		sinks = append(sinks, addClient(t, h, "a", ""))
	}
	closed := func() int {
		n := 0
		for _, s := range sinks {
			if s.closed {
				n++
			}
		}
		return n
	}
	// Each event costs 1 (read) + 100 writes = 101 ms: four stay below
	// the 500 ms at which shedding starts.
	for i := 1; i <= 4; i++ {
		h.Deliver([]*edge.Event{event(fmt.Sprint("e", i), "a", false)})
	}
	if n := closed(); n != 0 {
		t.Fatalf("%d streams closed at %.0f ms spent, before the shedding point", n, h.Stats().SpentMs)
	}
	h.Deliver([]*edge.Event{event("e5", "a", false)})
	st := h.Stats()
	if n := closed(); n != 10 || st.Shed != 10 || st.ShedRounds != 1 || st.Subscribers != 90 {
		t.Fatalf("at %.0f ms spent: %d streams closed, stats %+v; want 10 closed in one step, 90 left", st.SpentMs, n, st)
	}
	for i := 6; h.Subscribers() > 0; i++ {
		if i > 100 {
			t.Fatalf("still %d streams after 100 events", h.Subscribers())
		}
		h.Deliver([]*edge.Event{event(fmt.Sprint("e", i), "a", false)})
		if spent := h.Stats().SpentMs; spent >= 1000 && h.Subscribers() > 0 {
			t.Fatalf("%.0f ms spent (budget 1000 ms) with %d streams still open", spent, h.Subscribers())
		}
	}
	if st := h.Stats(); st.ShedRounds != 10 || closed() != 100 {
		t.Fatalf("stats %+v, %d closed: want 10 steps closing all 100", st, closed())
	}
}

// TestBudgetTouchResets: an incoming request starts the account again,
// so a hub that hears from its clients often enough never sheds.
func TestBudgetTouchResets(t *testing.T) {
	h := budgetHub(16)
	var sinks []*sink
	for range 100 {
		sinks = append(sinks, addClient(t, h, "a", ""))
	}
	for i := 1; i <= 50; i++ {
		h.Deliver([]*edge.Event{event(fmt.Sprint("e", i), "a", false)})
		if i%4 == 0 {
			h.Touch()
			if spent := h.Stats().SpentMs; spent != 0 {
				t.Fatalf("%.0f ms spent right after an incoming request", spent)
			}
		}
	}
	if st := h.Stats(); st.Shed != 0 || st.Subscribers != 100 {
		t.Fatalf("stats %+v: a hub touched every 4 events (404 ms) shed streams", st)
	}
	// Heartbeats count too: 202 ms of events since the last touch, and
	// 300 ms of heartbeats pass the shedding point at 500.
	for range 3 {
		h.Heartbeat()
	}
	if st := h.Stats(); st.Shed != 10 {
		t.Fatalf("after 202 ms of events and 300 of heartbeats: %d shed, want 10", st.Shed)
	}
}

// TestBudgetWeighsWrites: the estimate counts an event write at its base
// cost plus its bytes, and a heartbeat comment at its own, lower cost: a
// write carrying many events costs more than a write of one, and an idle
// hub's probes do not count as event writes.
func TestBudgetWeighsWrites(t *testing.T) {
	h := edge.NewHub(testCompiler, 1024)
	h.Budget = edge.Budget{CPU: time.Hour, WriteCost: 40 * time.Microsecond, KBCost: 8 * time.Microsecond, CommentCost: 10 * time.Microsecond, ShedAt: 50, ShedPct: 10}
	hello(h, "e0")
	for range 10 {
		addClient(t, h, "a", "")
	}
	spent := func() time.Duration { return time.Duration(h.Stats().SpentMs * float64(time.Millisecond)) }
	near := func(what string, got, want time.Duration) {
		t.Helper()
		if d := got - want; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("%s: estimated %v, want %v", what, got, want)
		}
	}
	// One small event: 1 read + 10 writes at 40 µs, and its bytes.
	one := event("e1", "a", false)
	h.Deliver([]*edge.Event{one})
	kb := func(n int) time.Duration { return time.Duration(float64(n) / 1024 * float64(8*time.Microsecond)) }
	near("one event to 10 clients", spent(), 11*40*time.Microsecond+kb(10*len(one.Chunk.Bytes)))
	// 500 events in one batch: 500 reads, 10 writes, 10 × their bytes.
	h.Touch()
	var batch []*edge.Event
	size := 0
	for i := 2; i < 502; i++ {
		e := event(fmt.Sprint("e", i), "a", false)
		size += len(e.Chunk.Bytes)
		batch = append(batch, e)
	}
	h.Deliver(batch)
	near("500 events to 10 clients", spent(), 510*40*time.Microsecond+kb(10*size))
	// Heartbeat comments at 10 µs each, their bytes not counted.
	h.Touch()
	h.Heartbeat()
	h.Heartbeat()
	near("two heartbeats to 10 clients", spent(), 20*10*time.Microsecond)
	// Probes: only the clients nothing was written to get a comment.
	h.Touch()
	h.Probe() // marks every client: each got the heartbeat since
	h.Probe() // now every client is probed
	near("probes", spent(), 10*10*time.Microsecond)
}

// TestBudgetOff: without a budget (CPU 0) the hub never sheds.
func TestBudgetOff(t *testing.T) {
	h := edge.NewHub(testCompiler, 16)
	hello(h, "e0")
	s := addClient(t, h, "a", "")
	for i := 1; i <= 2000; i++ {
		h.Deliver([]*edge.Event{event(fmt.Sprint("e", i), "a", false)})
	}
	if st := h.Stats(); st.Shed != 0 || s.closed || st.SpentMs != 0 {
		t.Fatalf("a hub without a budget: stats %+v, closed %v", st, s.closed)
	}
}

// TestBudgetShedLosesNothing: clients whose streams the hub closes to
// stay within its budget come back with Last-Event-ID, which is an
// incoming request that resets the budget, and end with every event once,
// in order. Events and reconnections run concurrently (-race).
func TestBudgetShedLosesNothing(t *testing.T) {
	const nClients, nEvents = 60, 400
	h := budgetHub(nEvents + 1)
	type client struct {
		mu  sync.Mutex
		ids []string
		s   *sink
	}
	var mu sync.Mutex // guards the sinks, which the hub writes under its own lock
	clients := make([]*client, nClients)
	connect := func(c *client) {
		mu.Lock()
		last := ""
		if c.s != nil {
			c.ids = append(c.ids, splitIDs(ids(c.s.got.String()))...)
		}
		if len(c.ids) > 0 {
			last = c.ids[len(c.ids)-1]
		} else {
			last = "e0"
		}
		c.s = &sink{}
		s := c.s
		mu.Unlock()
		h.Touch() // the reconnection is an incoming request
		if !h.Add(&edge.Client{ID: h.NextID(), Sink: lockedSink{&mu, s}, Match: topicMatch("a")}, last) {
			t.Error("Add refused")
		}
	}
	for i := range clients {
		clients[i] = &client{}
		connect(clients[i])
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= nEvents; i++ {
			h.Deliver([]*edge.Event{event(fmt.Sprint("e", i), "a", false)})
		}
		close(done)
	}()
	// The clients: whoever was closed comes back, now and then, as
	// EventSource does after its retry delay.
	reconnects := 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		case <-time.After(time.Millisecond):
		}
		for _, c := range clients {
			mu.Lock()
			gone := c.s.closed
			mu.Unlock()
			if gone {
				reconnects++
				connect(c)
			}
		}
	}
	wg.Wait()
	st := h.Stats()
	if st.Shed == 0 {
		t.Fatalf("stats %+v: the hub never shed, the test proves nothing", st)
	}
	want := make([]string, nEvents)
	for i := range want {
		want[i] = fmt.Sprint("e", i+1)
	}
	for i, c := range clients {
		mu.Lock()
		got := append(c.ids, splitIDs(ids(c.s.got.String()))...)
		mu.Unlock()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("client %d after %d reconnections in all: got %d events %v…, want e1…e%d once each in order", i, reconnects, len(got), got[:min(len(got), 10)], nEvents)
		}
	}
	t.Logf("%d streams shed in %d steps, %d reconnections, every client got all %d events once", st.Shed, st.ShedRounds, reconnects, nEvents)
}

// lockedSink is a sink the test reads while the hub writes it.
type lockedSink struct {
	mu *sync.Mutex
	s  *sink
}

func (l lockedSink) Write(c *edge.Chunk) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Write(c)
}

func (l lockedSink) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Close()
}

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
