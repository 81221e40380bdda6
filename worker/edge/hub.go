// Package edge is the edge hub's core, free of JavaScript: the set of
// client streams held by one Durable Object, the replay ring, and what to do
// with each frame of the origin's feed. The js/wasm bridge in package main
// feeds it frames and gives it Sinks that write to browser streams.
package edge

import (
	"sync"

	"github.com/edge-sse/edge-sse/shared/frame"
	"github.com/edge-sse/edge-sse/shared/mercure"
	"github.com/edge-sse/edge-sse/shared/topic"
)

// Chunk is bytes written to many clients. Sinks may cache a converted form
// (for example a JavaScript Uint8Array) in Native, so an event is converted
// once however many clients receive it. Fan-out is single-threaded under the
// hub's lock, so the lazy fill needs no synchronisation.
type Chunk struct {
	Bytes  []byte
	Native any
}

// Sink is one client's stream.
type Sink interface {
	// Write queues c for the client and reports whether the client is still
	// there and keeping up. A false return removes the client.
	Write(c *Chunk) bool
	// Close ends the client's stream. It must not fail on a stream that the
	// client already cancelled.
	Close()
}

// Client is one subscriber held by the hub.
type Client struct {
	ID   uint64
	Sink Sink
	// Match reports whether the client may receive e: its selectors match
	// and, for a private event, its token grants it.
	Match func(e *Event) bool
}

// MissedEventType is the in-band notice of missed events (see package mercure).
const MissedEventType = mercure.MissedEventType

// Hub holds the clients of one edge hub object. All methods are safe for
// concurrent use; none blocks on I/O while holding the lock.
type Hub struct {
	compiler *topic.Compiler

	mu      sync.Mutex
	clients map[uint64]*Client
	ring    *Ring
	nextID  uint64
	// helloID is the origin's newest id announced by the current feed's Hello.
	helloID string

	heartbeat *Chunk

	// Counters, read by Stats.
	events     uint64
	deliveries uint64
	dropped    uint64
	gaps       uint64
}

// NewHub returns a hub whose replay ring holds ringSize events and whose
// events' topics are prepared with c.
func NewHub(c *topic.Compiler, ringSize int) *Hub {
	return &Hub{
		compiler:  c,
		clients:   make(map[uint64]*Client),
		ring:      NewRing(ringSize),
		heartbeat: &Chunk{Bytes: []byte(":\n\n")},
	}
}

// NextID returns a fresh client id.
func (h *Hub) NextID() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	return h.nextID
}

// Add registers c and writes what it missed since lastEventID: the ring's
// events after that id, or a MissedEventType notice when the id is not in
// the ring. Registration and replay happen under one lock with the live
// fan-out, so the client sees no gap and no duplicate at the switch. It
// returns false if the client's sink refused a write (it is then not added).
func (h *Hub) Add(c *Client, lastEventID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !c.Sink.Write(&Chunk{Bytes: []byte(":\n\n")}) {
		return false
	}
	if lastEventID != "" {
		events, ok := h.ring.After(lastEventID)
		if !ok {
			h.gaps++
			if !c.Sink.Write(&Chunk{Bytes: mercure.AppendMissed(nil, mercure.ReasonUnknownID)}) {
				return false
			}
		}
		var replay []byte
		for _, e := range events {
			if c.Match(e) {
				replay = append(replay, e.Chunk.Bytes...)
			}
		}
		if len(replay) > 0 && !c.Sink.Write(&Chunk{Bytes: replay}) {
			return false
		}
	}
	h.clients[c.ID] = c
	return true
}

// Kick removes the client with this id and closes its stream, for example
// when its token expires. It reports whether the client was held.
func (h *Hub) Kick(id uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.clients[id]
	if ok {
		delete(h.clients, id)
		c.Sink.Close()
	}
	return ok
}

// Compiler returns the topic compiler the hub prepares events with.
func (h *Hub) Compiler() *topic.Compiler { return h.compiler }

// Remove drops the client with this id, if held, and reports whether it was.
func (h *Hub) Remove(id uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.clients[id]
	delete(h.clients, id)
	return ok
}

// OnFrame applies one frame of the origin's feed.
func (h *Hub) OnFrame(f *frame.Frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch f.Type {
	case frame.TypeHello:
		h.helloID = string(f.ID)
		h.ring.Anchor(h.helloID)
	case frame.TypeEvent:
		if e := NewEvent(h.compiler, f); e != nil {
			h.deliverLocked([]*Event{e})
		}
	case frame.TypeGap:
		// The origin could not resume after our newest id: events were lost
		// between the edge and the origin. Every client may have missed some.
		h.gaps++
		h.ring.Reset(h.helloID)
		h.fanoutLocked(&Chunk{Bytes: mercure.AppendMissed(nil, mercure.ReasonEdgeGap)}, nil)
	}
}

// Deliver stores events, received in order from the origin, in the ring and
// writes them to the clients they match. Each client gets the events of the
// batch that it matches as ONE chunk, and clients that match the same events
// share that chunk, so a burst costs one write per client, not one per event
// and client.
func (h *Hub) Deliver(events []*Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deliverLocked(events)
}

func (h *Hub) deliverLocked(events []*Event) {
	for _, e := range events {
		h.ring.Push(e)
		h.events++
	}
	for len(events) > 0 {
		n := min(len(events), 64)
		h.deliverBatchLocked(events[:n])
		events = events[n:]
	}
}

// deliverBatchLocked fans out up to 64 events, keyed by the bit mask of the
// events each client matches.
func (h *Hub) deliverBatchLocked(events []*Event) {
	if len(events) == 1 {
		e := events[0]
		h.fanoutLocked(e.Chunk, func(c *Client) bool { return c.Match(e) })
		return
	}
	chunks := make(map[uint64]*Chunk)
	for id, cl := range h.clients {
		var mask uint64
		for i, e := range events {
			if cl.Match(e) {
				mask |= 1 << i
			}
		}
		if mask == 0 {
			continue
		}
		c := chunks[mask]
		if c == nil {
			c = joinChunks(events, mask)
			chunks[mask] = c
		}
		if cl.Sink.Write(c) {
			h.deliveries += uint64(bitsSet(mask))
			continue
		}
		h.dropped++
		delete(h.clients, id)
		cl.Sink.Close()
	}
}

func joinChunks(events []*Event, mask uint64) *Chunk {
	size := 0
	for i, e := range events {
		if mask&(1<<i) != 0 {
			size += len(e.Chunk.Bytes)
		}
	}
	b := make([]byte, 0, size)
	for i, e := range events {
		if mask&(1<<i) != 0 {
			b = append(b, e.Chunk.Bytes...)
		}
	}
	return &Chunk{Bytes: b}
}

func bitsSet(m uint64) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// Heartbeat writes a comment to every client, which also finds clients
// whose stream is gone.
func (h *Hub) Heartbeat() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fanoutLocked(h.heartbeat, nil)
}

func (h *Hub) fanoutLocked(c *Chunk, match func(*Client) bool) {
	for id, cl := range h.clients {
		if match != nil && !match(cl) {
			continue
		}
		if cl.Sink.Write(c) {
			h.deliveries++
			continue
		}
		h.dropped++
		delete(h.clients, id)
		cl.Sink.Close()
	}
}

// LastEventID returns the newest event id the hub has seen from the origin.
func (h *Hub) LastEventID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ring.Newest()
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Subscribers int    `json:"subscribers"`
	Events      uint64 `json:"events"`
	Deliveries  uint64 `json:"deliveries"`
	Dropped     uint64 `json:"dropped"`
	Gaps        uint64 `json:"gaps"`
	RingLen     int    `json:"ringLen"`
	LastEventID string `json:"lastEventID"`
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{
		Subscribers: len(h.clients),
		Events:      h.events,
		Deliveries:  h.deliveries,
		Dropped:     h.dropped,
		Gaps:        h.gaps,
		RingLen:     h.ring.Len(),
		LastEventID: h.ring.Newest(),
	}
}
