package edge

import (
	"strings"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// Event is an event the edge received from the origin, kept for replay.
type Event struct {
	ID      string
	Private bool
	// Topics are the event's topics prepared once for every client's match.
	Topics *topic.Topics
	Chunk  *Chunk
	// seq numbers the events a hub received, from 1, in order (set when
	// the hub stores the event).
	seq uint64
}

// Ring keeps the newest events received from the origin, in order, for
// clients that reconnect with Last-Event-ID. It knows the id just before
// its oldest event (its base), so a client whose last id is the base or any
// held event can be served from the ring without a gap.
type Ring struct {
	events []*Event
	head   int
	n      int
	base   string
	index  map[string]int // id -> position counted from the oldest event ever pushed
	pushed int
}

// NewRing returns a ring that keeps size events (at least 1).
func NewRing(size int) *Ring {
	if size < 1 {
		size = 1
	}
	return &Ring{events: make([]*Event, size), index: make(map[string]int, size)}
}

// Anchor sets the base id when the ring holds nothing yet: the events that
// follow come right after id.
func (r *Ring) Anchor(id string) {
	if r.n == 0 && r.base == "" {
		r.base = id
	}
}

// Reset empties the ring; events that follow come right after base.
func (r *Ring) Reset(base string) {
	clear(r.events)
	clear(r.index)
	r.head, r.n, r.base = 0, 0, base
}

// newEvent copies a decoded Event frame into an Event the hub can keep,
// preparing its topics with c, or returns nil when the frame breaks a rule
// of frame.Validate. The feed decodes every event of a burst, so it
// allocates little: one string holds the id and the topics, one object the
// event, its chunk and a single topic's slot, besides the chunk's bytes
// and the prepared topics (four allocations an event, ten before).
func newEvent(c *topic.Compiler, f *frame.Frame) *Event {
	if f.Type != frame.TypeEvent || frame.Validate(f) != nil {
		return nil
	}
	n := len(f.ID)
	for _, t := range f.Topics {
		n += len(t)
	}
	var b strings.Builder
	b.Grow(n)
	b.Write(f.ID)
	for _, t := range f.Topics {
		b.Write(t)
	}
	text := b.String()
	p := new(struct {
		e     Event
		c     Chunk
		topic [1]string
	})
	topics := p.topic[:0]
	if len(f.Topics) > 1 {
		topics = make([]string, 0, len(f.Topics))
	}
	at := len(f.ID)
	for _, t := range f.Topics {
		topics = append(topics, text[at:at+len(t)])
		at += len(t)
	}
	p.c.Bytes = append([]byte(nil), f.SSE...)
	p.e = Event{ID: text[:len(f.ID)], Private: f.Private, Topics: c.Prepare(topics...), Chunk: &p.c}
	return &p.e
}

// Push appends e, evicting the oldest event when the ring is full.
func (r *Ring) Push(e *Event) {
	if r.n == len(r.events) {
		old := r.events[r.head]
		delete(r.index, old.ID)
		r.base = old.ID
		r.events[r.head] = e
		r.head = (r.head + 1) % len(r.events)
	} else {
		r.events[(r.head+r.n)%len(r.events)] = e
		r.n++
	}
	r.index[e.ID] = r.pushed
	r.pushed++
}

// After returns the held events after id. ok is false when the ring cannot
// tell what came after id (the id is neither the base nor held).
func (r *Ring) After(id string) (events []*Event, ok bool) {
	start := 0
	if id != r.base {
		pos, held := r.index[id]
		if !held {
			return nil, false
		}
		start = pos - (r.pushed - r.n) + 1
	}
	for i := start; i < r.n; i++ {
		events = append(events, r.events[(r.head+i)%len(r.events)])
	}
	return events, true
}

// Has reports whether After can tell what came after id: id is the base
// or a held event.
func (r *Ring) Has(id string) bool {
	if id == r.base {
		return true
	}
	_, ok := r.index[id]
	return ok
}

// Newest returns the id of the newest event, or the base when empty.
func (r *Ring) Newest() string {
	if r.n == 0 {
		return r.base
	}
	return r.events[(r.head+r.n-1)%len(r.events)].ID
}

// Len returns the number of held events.
func (r *Ring) Len() int { return r.n }
