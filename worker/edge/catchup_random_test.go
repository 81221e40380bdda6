package edge_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// TestCatchupRandomized drives a hub with random publishes, joins from
// random Last-Event-IDs (none, in the ring, older than the ring, forgotten
// by the origin, never issued), departures and fetch answers in random
// order, against a fake origin holding the whole history. Every client
// still there at the end must have received exactly the events after its
// Last-Event-ID that it matches (or, if the origin no longer held that id,
// one missed notice then exactly the events after the ring's newest id when
// it joined), in order; the hub's bookkeeping is checked after every step.
func TestCatchupRandomized(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 50
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			runRandomCatchup(t, rand.New(rand.NewPCG(seed, 0x5eed)))
		})
		if t.Failed() {
			return
		}
	}
}

func runRandomCatchup(t *testing.T, r *rand.Rand) {
	h := edge.NewHub(testCompiler, 1+r.IntN(8))
	h.MaxFetches = r.IntN(4) // 0: the default
	o := &origin{}
	fs := newFetches(t, h, o)
	topics := []string{"a", "b", "c"}
	topic := func(int) (string, bool) { return topics[r.IntN(len(topics))], r.IntN(10) == 0 }
	// Before the edge's feed begins, the origin has a history of its own.
	for range 1 + r.IntN(30) {
		k := len(o.events) + 1
		name, private := topic(k)
		o.events = append(o.events, event(fmt.Sprint("e", k), name, private))
	}
	lastID := func() string {
		switch n := len(o.events); {
		case r.IntN(10) == 0:
			return fmt.Sprint("x", r.IntN(5)) // never issued
		case r.IntN(5) == 0:
			return "" // a new subscriber
		case r.IntN(3) == 0:
			return fmt.Sprint("e", max(1, n-r.IntN(6))) // recent
		default:
			return fmt.Sprint("e", 1+r.IntN(n))
		}
	}
	var cs []*client
	gone := make(map[*client]bool)  // removed, kicked or made to fail
	failed := make(map[string]bool) // the Afters of failed fetches
	// Clients that arrive before the feed's Hello:
	for range r.IntN(6) {
		cs = append(cs, join(t, h, o, topics[r.IntN(len(topics))], lastID()))
	}
	hello(h, fmt.Sprint("e", len(o.events)))
	for _, c := range cs { // their range ends where the feed begins
		c.held, c.joined = fmt.Sprint("e", len(o.events)), len(o.events)
	}
	live := func() []*client {
		var out []*client
		for _, c := range cs {
			if !gone[c] {
				out = append(out, c)
			}
		}
		return out
	}
	steps := 50 + r.IntN(250)
	for step := range steps {
		switch p := r.IntN(100); {
		case p < 30:
			o.publish(h, 1+r.IntN(3), topic)
		case p < 55:
			cs = append(cs, join(t, h, o, topics[r.IntN(len(topics))], lastID()))
		case p < 62:
			if l := live(); len(l) > 0 {
				c := l[r.IntN(len(l))]
				if r.IntN(2) == 0 {
					h.Remove(c.id)
				} else {
					h.Kick(c.id)
				}
				gone[c] = true
			}
		case p < 64:
			if l := live(); len(l) > 0 {
				c := l[r.IntN(len(l))]
				c.s.fail = true // dropped at its next write
				gone[c] = true
			}
		case p < 90:
			if n := len(fs.inflight); n > 0 {
				if r.IntN(8) == 0 {
					i := r.IntN(n)
					failed[fs.inflight[i].After] = true
					fs.fail(i)
				} else {
					fs.finish(r.IntN(n))
				}
			}
		case p < 95:
			h.Heartbeat()
		default:
			o.floor = min(len(o.events), o.floor+r.IntN(4)) // the origin forgets
		}
		if err := h.CheckCatchup(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	for len(fs.inflight) > 0 {
		fs.finish(r.IntN(len(fs.inflight)))
		checkHub(t, h)
		if r.IntN(2) == 0 {
			o.publish(h, 1, topic)
		}
	}
	o.publish(h, 1, topic)
	h.Heartbeat() // drops the clients made to fail
	connected := 0
	for _, c := range live() {
		if !c.s.closed {
			connected++
		}
	}
	if st := h.Stats(); st.CatchingUp != 0 || st.CatchupQueue != 0 || st.CatchupInFlight != 0 || st.Subscribers != connected {
		t.Fatalf("at the end: %+v with %d clients connected", st, connected)
	}
	for _, c := range cs {
		out := c.s.got.String()
		switch {
		case gone[c]:
		case c.s.closed:
			// Disconnected by a failed fetch while it waited: it got nothing.
			if !failed[c.last] || ids(out) != "" || strings.Contains(out, edge.MissedEventType) {
				t.Errorf("client %d (after %q) was disconnected after receiving %q", c.id, c.last, out)
			}
		case strings.Contains(out, edge.MissedEventType):
			if n, held := o.pos(c.last); held && n > 0 {
				t.Errorf("client %d: missed notice though the origin holds %q", c.id, c.last)
			}
			c.checkMissed(t, o)
		default:
			c.check(t, o)
		}
	}
}
