package edge

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// stream is a Writer modelled on a client stream as entry.mjs's
// enqueue sees it: chunks and their bytes wait until the client reads
// them, and more than limit.Chunks chunks or limit.Bytes bytes (0: no
// bound) waiting refuses the write.
type stream struct {
	mu           sync.Mutex
	waiting      int
	waitingBytes int
	reading      bool // the client reads every chunk at once
	got          strings.Builder
	closed       bool
}

func (s *stream) Enqueue(c *Chunk, limit QueueLimit) Queued {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.waiting > limit.Chunks || limit.Bytes > 0 && s.waitingBytes > limit.Bytes {
		return Queued{Chunks: -1}
	}
	s.got.Write(c.Bytes)
	s.waiting++
	s.waitingBytes += len(c.Bytes)
	q := Queued{Chunks: s.waiting, Bytes: s.waitingBytes}
	if s.reading {
		s.waiting, s.waitingBytes = 0, 0
	}
	return q
}

func (s *stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

func (s *stream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got.String()
}

func testHub(t *testing.T) *Hub {
	t.Helper()
	c, err := topic.NewCompiler(topic.Config{HubURL: "https://edge.example/.well-known/mercure"})
	if err != nil {
		t.Fatal(err)
	}
	return NewHub(c, 10)
}

func all(*Event) bool { return true }

func TestStreamSinkQueueLimitDrop(t *testing.T) {
	h := testHub(t)
	w := &stream{}
	if !h.Attach(h.NextID(), w, all, nil, "", time.Time{}, StreamOptions{Queue: 3}) {
		t.Fatal("Attach refused")
	}
	// The retry advice and the connect comment wait; two heartbeats more
	// make 4 waiting, past the queue of 3: the next write is refused.
	for range 2 {
		h.Heartbeat()
	}
	if st := h.Stats(); st.Subscribers != 1 {
		t.Fatalf("dropped before the queue was full: %+v", st)
	}
	h.Heartbeat()
	if st := h.Stats(); st.Subscribers != 0 || st.Dropped != 1 || !w.isClosed() {
		t.Fatalf("a client with more than 3 chunks waiting was not dropped: %+v, closed %v", st, w.isClosed())
	}
}

// TestStreamSinkQueueBytesDrop: a client that reads nothing while big
// chunks flow is dropped once more than QueueBytes bytes wait for it, long
// before its chunk bound; what waits for it never passes the bound by
// more than one chunk, and a reading client on the same hub gets every
// event. Both write paths: one Enqueue per client and a BatchWriter.
func TestStreamSinkQueueBytesDrop(t *testing.T) {
	onBothWritePaths(t, func(t *testing.T, h *Hub) {
		stuck, reader := &stream{}, &stream{reading: true}
		o := StreamOptions{Queue: 1000, QueueBytes: 10 << 10}
		h.Attach(h.NextID(), stuck, all, nil, "", time.Time{}, o)
		h.Attach(h.NextID(), reader, all, nil, "", time.Time{}, o)
		data := strings.Repeat("x", 4<<10)
		var maxQueued, chunk int
		for i := 1; i <= 20; i++ {
			id := fmt.Sprint("e", i)
			e := &Event{ID: id, Topics: h.compiler.Prepare("a"), Chunk: &Chunk{Bytes: []byte("id: " + id + "\ndata: " + data + "\n\n")}}
			chunk = len(e.Chunk.Bytes)
			h.Deliver([]*Event{e})
			// The reader takes each chunk as it comes, so only the one
			// just written waits for it: the rest of the sum waits for
			// the stuck client, until it is dropped.
			st := h.Stats()
			stuckQueued := st.QueuedBytes - chunk
			if !stuck.isClosed() {
				maxQueued = max(maxQueued, stuckQueued)
			}
			// Written while at most 10 KiB waited: 3 events of 4 KiB
			// (plus the retry advice and the connect comment) wait
			// when the 4th is refused.
			if i <= 3 && stuck.isClosed() {
				t.Fatalf("dropped at event %d with %d bytes waiting", i, stuckQueued)
			}
		}
		if !stuck.isClosed() {
			t.Fatal("a client with more than QueueBytes waiting was not dropped")
		}
		if maxQueued > o.QueueBytes+chunk {
			t.Fatalf("%d bytes waited for one client, bound %d plus a chunk of %d", maxQueued, o.QueueBytes, chunk)
		}
		// The peak counts the dropped client too: what waited for it
		// when its last write was refused (3 events, 12 KiB and more).
		if peak := h.Stats().QueuedBytesPeak; peak != maxQueued || peak < 3*chunk {
			t.Fatalf("peak %d, want the %d seen (more than 3 chunks of %d)", peak, maxQueued, chunk)
		}
		if reader.isClosed() || strings.Count(reader.String(), data) != 20 {
			t.Fatalf("the reading client got %d of 20 events (closed %v)", strings.Count(reader.String(), data), reader.isClosed())
		}
		// The reader's last write is all that waits: the chunk just written.
		if st := h.Stats(); st.Subscribers != 1 || st.Dropped != 1 || st.QueuedBytes != chunk {
			t.Fatalf("stats: %+v", st)
		}
	})
}

func TestStreamSinkStallDrop(t *testing.T) {
	h := testHub(t)
	stuck, reader := &stream{}, &stream{reading: true}
	o := StreamOptions{Queue: 1000, Stall: 30 * time.Millisecond}
	h.Attach(h.NextID(), stuck, all, nil, "", time.Time{}, o)
	h.Attach(h.NextID(), reader, all, nil, "", time.Time{}, o)
	h.Heartbeat()
	time.Sleep(50 * time.Millisecond)
	h.Heartbeat() // the stuck client's chunks have waited past 30ms
	if !stuck.isClosed() || reader.isClosed() {
		t.Fatalf("stuck closed %v (want true), reading closed %v (want false)", stuck.isClosed(), reader.isClosed())
	}
	if st := h.Stats(); st.Subscribers != 1 || st.Dropped != 1 {
		t.Fatalf("stats after the stall: %+v", st)
	}
	// Without a stall bound only the queue limit drops a client.
	h2 := testHub(t)
	w := &stream{}
	h2.Attach(h2.NextID(), w, all, nil, "", time.Time{}, StreamOptions{Queue: 1000})
	h2.Heartbeat()
	time.Sleep(50 * time.Millisecond)
	h2.Heartbeat()
	if w.isClosed() {
		t.Fatal("dropped for a stall with Stall 0")
	}
}

func TestAttachAdvisesRetry(t *testing.T) {
	h := testHub(t)
	w := &stream{reading: true}
	h.Attach(h.NextID(), w, all, nil, "", time.Time{}, StreamOptions{Queue: 10, Retry: 2 * time.Second})
	if got := w.String(); !strings.HasPrefix(got, "retry: 2000\n") {
		t.Fatalf("stream starts %q, want the retry advice", got)
	}
}

func TestStreamLifetime(t *testing.T) {
	h := testHub(t)
	w := &stream{reading: true}
	h.Attach(h.NextID(), w, all, nil, "", time.Time{}, StreamOptions{Queue: 10, MaxStream: 40 * time.Millisecond})
	deadline := time.Now().Add(10 * time.Second)
	for !w.isClosed() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !w.isClosed() || h.Subscribers() != 0 {
		t.Fatal("the stream outlived MAX_STREAM")
	}
	// A token's expiry ends the stream too.
	w = &stream{reading: true}
	h.Attach(h.NextID(), w, all, nil, "", time.Now().Add(30*time.Millisecond), StreamOptions{Queue: 10, MaxStream: time.Hour})
	for !w.isClosed() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !w.isClosed() {
		t.Fatal("the stream outlived its token")
	}
}

func TestStreamLifetimeTimerStoppedOnClose(t *testing.T) {
	h := testHub(t)
	id := h.NextID()
	h.Attach(id, &stream{reading: true}, all, nil, "", time.Time{}, StreamOptions{Queue: 10, MaxStream: time.Hour})
	h.mu.Lock()
	s := h.reg.clients[id].Sink.(*StreamSink)
	h.mu.Unlock()
	if s.end.Load() == nil {
		t.Fatal("no lifetime timer armed")
	}
	h.Remove(id)
	if s.end.Load() != nil {
		t.Fatal("the lifetime timer of a removed client is still armed")
	}
	// A stream closed before its timer is armed stops the timer at once.
	s = NewStreamSink(&stream{}, StreamOptions{})
	s.Close()
	fired := make(chan struct{})
	s.setEnd(time.AfterFunc(10*time.Millisecond, func() { close(fired) }))
	select {
	case <-fired:
		t.Fatal("the timer of a closed stream fired")
	case <-time.After(50 * time.Millisecond):
	}
}

// onBothWritePaths runs test on a hub anchored at e0, once writing one
// Enqueue per client and once through a BatchWriter.
func onBothWritePaths(t *testing.T, test func(t *testing.T, h *Hub)) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprint("batch=", batch), func(t *testing.T) {
			h := testHub(t)
			if batch {
				h.SetBatchWriter(&countingBatch{})
			}
			h.OnFrame(&frame.Frame{Type: frame.TypeHello, ID: []byte("e0")})
			test(t, h)
		})
	}
}

// TestQueueAccountMatchesClients: the queued bytes and the peak that the
// hub keeps as writes settle are what walking its clients gives, through
// clients that join, read, stall, are dropped by their byte bound and
// leave, on both write paths.
func TestQueueAccountMatchesClients(t *testing.T) {
	onBothWritePaths(t, func(t *testing.T, h *Hub) {
		rng := rand.New(rand.NewPCG(1, 2))
		o := StreamOptions{Queue: 1000, QueueBytes: 3 << 10}
		var ids []uint64
		peak := 0
		for i := 1; i <= 400; i++ {
			switch r := rng.IntN(10); {
			case r < 3: // a client joins, reading or not
				id := h.NextID()
				h.Attach(id, &stream{reading: rng.IntN(2) == 0}, all, nil, "", time.Time{}, o)
				ids = append(ids, id)
			case r < 4 && len(ids) > 0: // one leaves
				k := rng.IntN(len(ids))
				h.Kick(ids[k])
				ids = append(ids[:k], ids[k+1:]...)
			default: // an event of 100–1,100 bytes
				id := fmt.Sprint("e", i)
				data := strings.Repeat("x", 100+rng.IntN(1000))
				h.Deliver([]*Event{{ID: id, Topics: h.compiler.Prepare("a"), Chunk: &Chunk{Bytes: []byte("id: " + id + "\ndata: " + data + "\n\n")}}})
			}
			h.mu.Lock()
			sum := 0
			for _, c := range h.reg.clients {
				s := c.Sink.(*StreamSink)
				sum += s.queued.Bytes
				peak = max(peak, s.peak)
			}
			h.mu.Unlock()
			if st := h.Stats(); st.QueuedBytes != sum || st.QueuedBytesPeak != peak {
				t.Fatalf("step %d: stats say %d bytes waiting, peak %d; the clients say %d, peak %d", i, st.QueuedBytes, st.QueuedBytesPeak, sum, peak)
			}
		}
		if st := h.Stats(); st.Dropped == 0 || st.Subscribers == 0 {
			t.Fatalf("the walk never saw a client dropped by its bound, or ended with none: %+v", st)
		}
	})
}
