package edge_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/worker/edge"
)

// writer is a client stream for Attach: it accepts every chunk until fail
// is set.
type writer struct {
	fail   atomic.Bool
	closed atomic.Bool
	// stalled makes the client read nothing: chunks wait.
	stalled atomic.Bool
}

func (w *writer) Enqueue(*edge.Chunk, edge.QueueLimit) edge.Queued {
	switch {
	case w.fail.Load():
		return edge.Queued{Chunks: -1}
	case w.stalled.Load():
		return edge.Queued{Chunks: 5, Bytes: 500}
	}
	return edge.Queued{Chunks: 1, Bytes: 100}
}

func (w *writer) Close() { w.closed.Store(true) }

// TestAttachReleasesOnEveryEnd: however a client's stream ends — its
// client left (detach), a write failed (gone or too slow), its token
// expired, its lifetime ran out — the hub calls its release exactly once
// and closes the stream. Presence rests on this: the worker reports a
// connection's end from its release.
func TestAttachReleasesOnEveryEnd(t *testing.T) {
	o := edge.StreamOptions{Queue: 8, Retry: time.Second, Stall: 20 * time.Millisecond}
	for _, c := range []struct {
		name      string
		expiresIn time.Duration
		o         func(edge.StreamOptions) edge.StreamOptions
		end       func(h *edge.Hub, id uint64, w *writer)
	}{
		{name: "client left", end: func(h *edge.Hub, id uint64, _ *writer) { h.Remove(id) }},
		{name: "write failed", end: func(h *edge.Hub, _ uint64, w *writer) { w.fail.Store(true); h.Probe() }},
		{name: "too slow", end: func(h *edge.Hub, _ uint64, w *writer) {
			w.stalled.Store(true)
			h.Probe()
			time.Sleep(30 * time.Millisecond)
			h.Probe()
		}},
		{name: "kicked", end: func(h *edge.Hub, id uint64, _ *writer) { h.Kick(id) }},
		{name: "token expired", expiresIn: 30 * time.Millisecond, end: func(*edge.Hub, uint64, *writer) {}},
		{name: "lifetime", o: func(o edge.StreamOptions) edge.StreamOptions { o.MaxStream = 40 * time.Millisecond; return o },
			end: func(*edge.Hub, uint64, *writer) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := edge.NewHub(testCompiler, 10)
			opts := o
			if c.o != nil {
				opts = c.o(o)
			}
			var expires time.Time
			if c.expiresIn > 0 {
				expires = time.Now().Add(c.expiresIn)
			}
			var released atomic.Int32
			w := &writer{}
			id := h.NextID()
			if !h.Attach(id, w, topicMatch("a"), func() { released.Add(1) }, "", expires, opts) {
				t.Fatal("Attach refused")
			}
			if released.Load() != 0 {
				t.Fatal("released while held")
			}
			c.end(h, id, w)
			deadline := time.Now().Add(2 * time.Second)
			for released.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			h.Remove(id) // a late detach changes nothing
			h.Probe()
			if n := released.Load(); n != 1 || !w.closed.Load() || h.Subscribers() != 0 {
				t.Fatalf("released %d times, stream closed %v, subscribers %d; want 1, true, 0", n, w.closed.Load(), h.Subscribers())
			}
		})
	}
}
