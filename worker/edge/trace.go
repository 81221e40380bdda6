package edge

import (
	"sync"
	"time"
)

// BatchTrace is the timeline of one fan-out of the feed's events, for
// telling apart where an event's time to its clients went: on the way to
// the object (ArrivedMs), waiting for the object's thread (TakenMs),
// being decoded (StartMs) or being written to every client (DoneMs).
// Times are Unix milliseconds. In workerd a clock reads the time the
// current turn of the event loop began, so each is when the turn doing
// that step started.
type BatchTrace struct {
	// LastID is the id of the batch's newest event; Events how many it
	// had, Writes the stream writes of its fan-out.
	LastID string `json:"lastID"`
	Events int    `json:"events"`
	Writes int    `json:"writes"`
	// Joined is how many events arrived during the fan-out and joined it
	// (Hub.DeliverMore); its writes include theirs, and its times are the
	// batch's own, not theirs.
	Joined int `json:"joined"`
	// Rounds are the fan-out's rounds over the clients (more than one
	// when events joined it), the first maxRounds of them.
	Rounds []RoundTrace `json:"rounds,omitempty"`
	// ArrivedMs is when the oldest bytes of the last read that brought
	// bytes of the batch reached the feed pump (0 when the body does not
	// say: Stamper), TakenMs when Go took that read. A batch whose frames
	// came in several reads (a frame split across them) shows the last
	// one's, so its events' way to the pump reads long by the split.
	ArrivedMs float64 `json:"arrivedMs"`
	TakenMs   float64 `json:"takenMs"`
	// StartMs is when the fan-out began (the batch decoded), DoneMs when
	// its last slice was written.
	StartMs float64 `json:"startMs"`
	DoneMs  float64 `json:"doneMs"`
}

// RoundTrace is one round of a fan-out over the clients that lacked some
// of its events: the stream writes of events it made (not heartbeat
// comments written meanwhile), their bytes, and when it began and ended
// (Unix milliseconds).
type RoundTrace struct {
	Writes  int     `json:"writes"`
	Bytes   int     `json:"bytes"`
	StartMs float64 `json:"startMs"`
	DoneMs  float64 `json:"doneMs"`
}

// maxRounds bounds the rounds one BatchTrace keeps: under a steady feed
// one fan-out goes on round after round for as long as events keep
// joining it.
const maxRounds = 64

// Stamper is implemented by a feed body that knows when the bytes of its
// last read arrived and when they were taken (the feed pump): the feed
// puts both in each batch's trace.
type Stamper interface {
	Stamps() (arrived, taken time.Time)
}

// traceSize is how many fan-outs the trace keeps (the newest).
const traceSize = 1024

// tracer keeps the newest traceSize batch traces.
type tracer struct {
	mu   sync.Mutex
	ring []BatchTrace
	next int // where the next one goes once ring is full
}

func (t *tracer) add(b BatchTrace) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ring) < traceSize {
		t.ring = append(t.ring, b)
		return
	}
	t.ring[t.next] = b
	t.next = (t.next + 1) % traceSize
}

// list returns the traces kept, oldest first.
func (t *tracer) list() []BatchTrace {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]BatchTrace, 0, len(t.ring))
	out = append(out, t.ring[t.next:]...)
	return append(out, t.ring[:t.next]...)
}

// Trace returns the timelines of the hub's newest fan-outs of the feed
// (up to 1,024), oldest first.
func (h *Hub) Trace() []BatchTrace { return h.trace.list() }

// unixMs is t in Unix milliseconds (0 for the zero time).
func unixMs(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMicro()) / 1e3
}
