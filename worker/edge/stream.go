package edge

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/edge-sse/edge-sse/shared/sse"
)

// Writer is a client's stream as the platform holds it (in the worker, a
// client stream's Sink: an IdentityTransformStream writer, worker/queue.mjs).
type Writer interface {
	// Enqueue writes c unless the stream is gone or more than limit.Chunks
	// chunks or more than limit.Bytes bytes already wait for the client
	// (so at most limit.Bytes plus one chunk ever wait). It returns what
	// waits afterwards, the chunk just written included, or Chunks -1 when
	// c was not written.
	Enqueue(c *Chunk, limit QueueLimit) Queued
	// Close ends the stream; it must not fail on a stream the client
	// already cancelled.
	Close()
}

// BatchWriter writes one chunk to many streams in one call. In the worker
// a write is a call from Go into JavaScript; through a BatchWriter a slice
// of a fan-out costs one such call instead of one per client, and no Go
// allocation per client (see Hub.Batch).
type BatchWriter interface {
	// EnqueueBatch does ws[i].Enqueue(c, limits[i]) for every i, in
	// order, and stores each result in waiting[i]. Every ws[i] is a
	// Writer of this platform (the BatchWriter knows its kind).
	EnqueueBatch(c *Chunk, ws []Writer, limits []QueueLimit, waiting []Queued)
}

// QueueLimit bounds what may wait for a client before it is dropped as too
// slow: a write is refused once more than Chunks chunks or more than Bytes
// bytes wait. The byte bound is what bounds memory: a chunk carries a
// whole batch of events (up to FEED_BUFFER_KB of the feed), so a bound in
// chunks alone let one client that reads nothing hold tens of MB.
type QueueLimit struct {
	Chunks, Bytes int
}

// Queued is what waits for a client after a write: chunks and their
// bytes; Chunks is -1 when the write was refused or the stream is gone.
type Queued struct {
	Chunks, Bytes int
}

// StreamOptions are the per-stream limits of a hub's clients.
type StreamOptions struct {
	// Queue is how many chunks (CLIENT_QUEUE), and QueueBytes how many
	// bytes (CLIENT_QUEUE_KB), may wait for a client before it is dropped
	// as too slow.
	Queue, QueueBytes int
	// Stall is how long a client may read nothing while chunks wait for
	// it before it is dropped (0: no bound).
	Stall time.Duration
	// Retry plus a random share of RetryJitter is the reconnection delay
	// advised to each client.
	Retry, RetryJitter time.Duration
	// MaxStream bounds a stream's lifetime (0: no bound): each gets
	// between 3/4 of it and all of it, at random.
	MaxStream time.Duration
	// MatchKey, when not empty, names what the client's match function
	// decides on (its selectors and grants): clients with the same key
	// match the same events, so a fan-out matches each event once per key
	// rather than once per client (see Client.MatchKey).
	MatchKey string
}

// StreamSink is the Sink of a client stream held through a Writer.
//
// Besides a failed write and more than Queue chunks or QueueBytes bytes
// waiting, a client is
// dropped when an earlier chunk has still been waiting at every write for
// Stall: nobody reads its stream (a client whose connection stalls, or a
// stream the platform stopped reading without cancelling it). Without this
// the hub would hold such a stream until Queue heartbeats had accumulated:
// hours with the production defaults.
type StreamSink struct {
	w     Writer
	limit QueueLimit
	stall time.Duration
	// stalledSince is when chunks began to wait, and queued what waited
	// after the last write; only the hub, under its lock, touches them.
	stalledSince time.Time
	queued       Queued
	// peak is the most bytes seen waiting after a write.
	peak int
	// acct, once the hub holds the sink, is the hub's sum of what waits
	// for all of its clients, kept as each write settles so that the
	// hub's stats never walk the clients.
	acct *queueAccount
	// end, when set, closes the stream at the end of its lifetime; Close
	// stops it, so a client that left holds no timer for the rest of its
	// lifetime (at 450 new streams/s that was ~800k timers).
	end    atomic.Pointer[time.Timer]
	closed atomic.Bool
}

// NewStreamSink returns the sink of stream w with the limits of o.
func NewStreamSink(w Writer, o StreamOptions) *StreamSink {
	return &StreamSink{w: w, limit: QueueLimit{Chunks: o.Queue, Bytes: o.QueueBytes}, stall: o.Stall}
}

// Write implements Sink.
func (s *StreamSink) Write(c *Chunk) bool { return s.settle(s.w.Enqueue(c, s.limit)) }

// settle applies the result of a write (what waits afterwards, Chunks -1
// when it failed) and reports whether the client keeps its stream.
func (s *StreamSink) settle(q Queued) bool {
	if q.Chunks < 0 {
		return false
	}
	if s.acct != nil {
		s.acct.bytes += q.Bytes - s.queued.Bytes
		s.acct.peak = max(s.acct.peak, q.Bytes)
	}
	s.queued = q
	s.peak = max(s.peak, q.Bytes)
	switch {
	case q.Chunks < 2: // read up to the chunk just written
		s.stalledSince = time.Time{}
	case s.stalledSince.IsZero():
		s.stalledSince = time.Now()
	case s.stall > 0 && time.Since(s.stalledSince) > s.stall:
		return false
	}
	return true
}

// queueAccount is what waits for a hub's clients, as their streams
// reported it after their last writes: the bytes summed, and the most ever
// seen waiting for one client (the clients dropped since included).
type queueAccount struct {
	bytes, peak int
}

// join counts s in a, with what already waits for it.
func (s *StreamSink) join(a *queueAccount) {
	s.acct = a
	a.bytes += s.queued.Bytes
	a.peak = max(a.peak, s.peak)
}

// leave takes s out of the account it joined, if any.
func (s *StreamSink) leave() {
	if s.acct != nil {
		s.acct.bytes -= s.queued.Bytes
		s.acct = nil
	}
}

// Close implements Sink.
func (s *StreamSink) Close() {
	s.closed.Store(true)
	s.stopEnd()
	s.w.Close()
}

// setEnd arms the stream's lifetime timer, unless the stream was closed
// meanwhile.
func (s *StreamSink) setEnd(t *time.Timer) {
	s.end.Store(t)
	if s.closed.Load() {
		s.stopEnd()
	}
}

func (s *StreamSink) stopEnd() {
	if t := s.end.Swap(nil); t != nil {
		t.Stop()
	}
}

// Attach binds a client that admission accepted to its stream: it advises
// a reconnection delay, adds the client to the hub (writing what it missed
// after lastEventID) and arms the end of the stream at the token's expiry
// (zero: none) or at the end of its lifetime, whichever comes first. It
// reports whether the client was added; if not, its stream is closed and
// release (nil: none), which gives back what match holds, is called; once
// added, the hub calls it when it forgets the client.
// Start the hub's feed after a true return.
func (h *Hub) Attach(id uint64, w Writer, match func(*Event) bool, release func(), lastEventID string, expires time.Time, o StreamOptions) bool {
	sink := NewStreamSink(w, o)
	// Jitter, so that clients cut off together (a deploy, a runtime
	// restart) do not all return at once.
	retry := o.Retry + rand.N(o.RetryJitter+1)
	sink.Write(&Chunk{Bytes: sse.AppendRetry(nil, int(retry.Milliseconds()))})
	if !h.Add(&Client{ID: id, Sink: sink, Match: match, Release: release, MatchKey: o.MatchKey}, lastEventID) {
		if release != nil {
			release() // idempotent: the hub may have released it already
		}
		sink.Close()
		return false
	}
	if end := lifetime(expires, o.MaxStream); end != 0 {
		sink.setEnd(time.AfterFunc(end, func() { h.Kick(id) }))
	}
	return true
}

// lifetime returns how long a stream may stay open: until expires (zero:
// no expiry) or a random share between 3/4 and all of maxStream (0: no
// bound), whichever comes first; 0 means no end.
func lifetime(expires time.Time, maxStream time.Duration) time.Duration {
	var end time.Duration
	if !expires.IsZero() {
		end = time.Until(expires)
	}
	if maxStream > 0 {
		life := maxStream*3/4 + rand.N(maxStream/4+1)
		if end == 0 || life < end {
			end = life
		}
	}
	return end
}
