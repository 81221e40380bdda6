// Package edge is the edge hub's logic, free of JavaScript so that it is
// tested natively under -race: the client streams held by one Durable
// Object and their fan-out (registry.go), the replay ring (ring.go), the
// catch-up of clients older than the ring (catchup.go), the hub that
// applies the origin's feed to them (hub.go), the loop that reads that feed
// (feed.go), the fetches of the origin's history (fetch.go) and the limits
// of a client stream (stream.go). The js/wasm adapter in package main gives
// it the origin's bodies as io.Readers and the browser streams as Writers.
package edge

import (
	"cmp"
	"slices"
	"sync"
	"time"

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
	// Release, when set, is called once the hub forgets the client: it
	// gives back the selectors Match holds (topic.Set.Release).
	Release func()
	// MatchKey, when not empty, is shared by the clients whose Match
	// answers alike for every event; a fan-out calls Match once per key
	// and event. With 1,000 clients on one topic a burst of 1,000 events
	// is then 1,000 matches, not 1,000,000.
	MatchKey string

	// upTo is the seq of the newest event the hub has dealt with for the
	// client: written, held or skipped as not matching, or, for a client
	// added since, already in the ring when it came (its resume replays
	// what it missed of those). A fan-out writes each client the events
	// after its upTo, so a client is never written an event twice and
	// events that arrive during a fan-out can join it (Hub.DeliverMore).
	upTo uint64
	// gone is set once the hub forgot the client.
	gone bool
	// after is the Last-Event-ID the client resumes from; held, when not
	// nil, the chunks kept for it until its replay is written.
	after string
	held  []*Chunk
	// written is set by every write to the client's stream and cleared by
	// each Probe round (see Hub.Probe).
	written bool
	// until is the ring's newest id when the client went into catch-up:
	// held starts right after it (or, after a feed Gap, with the missed
	// notice), so its replay ends with it. While the
	// client waits for the origin, waiting is set, prev and next link it
	// into the hub's catch-up queue, and enq is its place in that queue.
	until      string
	waiting    bool
	enq        uint64
	prev, next *Client
}

// MaxHeld bounds the chunks held for a client in catch-up; past it the
// client is dropped and resumes later.
const MaxHeld = 4096

// Earliest is the reserved Last-Event-ID asking for every event the
// origin still holds (Mercure §"Reconciliation"); the origin's feed takes
// it as a catch-up range's start.
const Earliest = mercure.Earliest

// MissedEventType is the in-band notice of missed events (see package mercure).
const MissedEventType = mercure.MissedEventType

// Hub is one edge hub object: its clients and their fan-out (registry),
// the replay ring (Ring) and the catch-up of clients older than the ring
// (scheduler), under one lock, applying the origin's feed to them. All
// methods are safe for concurrent use; none blocks on I/O while holding
// the lock. Deliver and Heartbeat release it between the slices of their
// work (see Yield).
type Hub struct {
	compiler *topic.Compiler

	mu  sync.Mutex
	reg registry
	// scheduler's OnFetch and MaxFetches are the hub's to set.
	scheduler
	ring *Ring
	// helloID is the origin's newest id announced by the current feed's Hello.
	helloID string
	// anchored is set by the first Hello: the ring knows where it starts;
	// anchoredCh is closed then (Anchored).
	anchored   bool
	anchoredCh chan struct{}

	// Matching, when set before the hub is used, is the Registry of the
	// clients' costly selectors: each event's topics are shared through it
	// for the fan-out, so a selector many clients hold runs once per event.
	Matching *topic.Registry
	// Yield, when set before the hub is used, is called between the
	// slices of a fan-out or a heartbeat, with the hub's lock released:
	// in the worker it lets the event loop run (other requests, the
	// platform's work on the streams already written) so that a big
	// fan-out never stands between the object and everything else.
	Yield func()
	// decodeEvents is the feed's events per decode slice (SetSlices).
	decodeEvents int
	// snap is the client list of a sliced fan-out, reused.
	snap []*Client
	// Budget, when set before the hub is used, is the CPU the platform
	// allows between incoming requests; past its shedding point the hub
	// closes streams rather than be reset with all of them (budget.go).
	Budget Budget
	budget budgetState
	// queues is what waits for the clients (Stats.QueuedBytes and
	// QueuedBytesPeak), kept by their StreamSinks.
	queues queueAccount
	// trace keeps the timelines of the newest fan-outs (Trace).
	trace tracer
	// Counters, read by Stats.
	events  uint64
	batches uint64
	dropped uint64
	gaps    uint64
}

// NewHub returns a hub whose replay ring holds ringSize events and whose
// events' topics are prepared with c.
func NewHub(c *topic.Compiler, ringSize int) *Hub {
	h := &Hub{compiler: c, reg: newRegistry(), ring: NewRing(ringSize), anchoredCh: make(chan struct{}), decodeEvents: DefaultDecodeSlice}
	h.scheduler.fetches = make(map[uint64]*fetch)
	return h
}

// Anchored is closed once the feed's first Hello arrived: from then on
// every event the origin stores reaches the hub's clients. A client added
// before it misses the events published between its answer and the Hello,
// so the adapter holds a new subscriber's 200 until then (bounded by
// AnchorWait).
func (h *Hub) Anchored() <-chan struct{} { return h.anchoredCh }

// AnchorWait bounds how long a new subscriber's answer waits for a cold
// hub's feed (Anchored); past it the answer goes out anyway, as it did
// before the wait existed, so an unreachable origin delays the first
// subscribers of a cold object by at most this.
const AnchorWait = 5 * time.Second

// SetBatchWriter makes the hub write each slice of a fan-out or heartbeat
// to its StreamSinks through b, one call per chunk (nil: one Enqueue per
// client). Every StreamSink's Writer must then be one b takes.
func (h *Hub) SetBatchWriter(b BatchWriter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reg.batch = b
}

// NextID returns a fresh client id.
func (h *Hub) NextID() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reg.nextID++
	return h.reg.nextID
}

// Add registers c and writes what it missed since lastEventID. Events the
// ring holds are replayed at once, under the same lock as the live fan-out,
// so the client sees no gap and no duplicate at the switch. An id older than
// the ring puts the client in catch-up: live events are held for it while
// it waits for a fetch of the missing range from the origin (see FinishFetch).
// Add returns false if the client's sink refused a write (it is then not
// added).
func (h *Hub) Add(c *Client, lastEventID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, stream := c.Sink.(*StreamSink)
	if stream {
		s.join(&h.queues)
	}
	if !c.Sink.Write(&Chunk{Bytes: []byte(":\n\n")}) {
		if stream {
			s.leave()
		}
		return false
	}
	h.reg.add(c)
	c.upTo = h.events
	if lastEventID == "" {
		return true
	}
	c.after = lastEventID
	h.reg.hold(c)
	if h.anchored {
		return h.resumeLocked(c)
	}
	return true // resumed when the feed's Hello anchors the ring
}

// ringID is the id to look id up by in the ring. Earliest is the ring's
// empty base: a ring whose first Hello found the origin empty, and that has
// evicted nothing since, holds every event the origin ever held, and so
// its oldest retained one. Any other ring cannot tell what the origin's
// oldest is (the Hello names the newest only): a client resuming from
// Earliest then catches up from the origin.
func ringID(id string) string {
	if id == Earliest {
		return ""
	}
	return id
}

// resumeLocked serves a held client from the ring or queues it for catch-up.
func (h *Hub) resumeLocked(c *Client) bool {
	events, ok := h.ring.After(ringID(c.after))
	if ok {
		return h.releaseLocked(c, nil, events)
	}
	if h.ring.Newest() == "" || h.OnFetch == nil {
		// The origin held nothing when this feed began: the id is unknown.
		h.gaps++
		return h.releaseLocked(c, mercure.AppendMissed(nil, mercure.ReasonUnknownID), nil)
	}
	c.until = h.ring.Newest()
	h.scheduler.enqueue(c)
	h.scheduler.issue(c, h.ring.Newest())
	return true
}

// releaseLocked writes prefix, the events c matches and the chunks held for
// it, in that order, and makes c live. A failed write drops c.
func (h *Hub) releaseLocked(c *Client, prefix []byte, events []*Event) bool {
	out := prefix
	for _, e := range events {
		if c.Match(e) {
			out = append(out, e.Chunk.Bytes...)
		}
	}
	for _, ch := range h.reg.unhold(c) {
		out = append(out, ch.Bytes...)
	}
	if len(out) > 0 && !c.Sink.Write(&Chunk{Bytes: out}) {
		h.dropLocked(c)
		return false
	}
	return true
}

// forgetLocked removes c from every structure of the hub.
func (h *Hub) forgetLocked(c *Client) {
	h.reg.forget(c)
	if s, ok := c.Sink.(*StreamSink); ok {
		s.leave()
	}
	if c.waiting {
		h.scheduler.unlink(c)
	}
	h.reg.unhold(c)
	if c.Release != nil {
		c.Release()
		c.Release = nil
	}
}

// dropLocked forgets clients whose stream failed and closes their streams.
func (h *Hub) dropLocked(cs ...*Client) {
	for _, c := range cs {
		h.dropped++
		h.forgetLocked(c)
		c.Sink.Close()
	}
}

// Kick removes the client with this id and closes its stream, for example
// when its token expires. It reports whether the client was held.
func (h *Hub) Kick(id uint64) bool { return h.Remove(id) }

// Compiler returns the topic compiler the hub prepares events with.
func (h *Hub) Compiler() *topic.Compiler { return h.compiler }

// Remove drops the client with this id, if held, when its stream was
// cancelled, and reports whether it was. It closes the client's sink too,
// which lets the sink release what it holds (Close must not fail on a
// cancelled stream).
func (h *Hub) Remove(id uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.reg.clients[id]
	if ok {
		h.forgetLocked(c)
		c.Sink.Close()
	}
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
		if !h.anchored {
			h.anchored = true
			close(h.anchoredCh)
			for _, c := range h.reg.clients {
				if c.held != nil && c.after != "" {
					h.resumeLocked(c)
				}
			}
		}
	case frame.TypeEvent:
		if e := newEvent(h.compiler, f); e != nil {
			h.deliverLocked([]*Event{e}, false, nil, nil)
		}
	case frame.TypeGap:
		// The origin could not resume after our newest id: events were lost
		// between the edge and the origin. Every client may have missed some.
		h.gaps++
		h.ring.Reset(h.helloID)
		h.dropLocked(h.reg.fanout(&Chunk{Bytes: mercure.AppendMissed(nil, mercure.ReasonEdgeGap)}, nil)...)
		h.checkBudgetLocked()
	}
}

// Deliver stores events, received in order from the origin, in the ring and
// writes them to the clients they match. Each client gets the events of the
// batch that it matches as ONE chunk, and clients that match the same
// events share that chunk, so a burst costs one write per client, not one
// per event and client (nor one per 64 events, as when the sets of events
// were 64-bit masks: at 1,000 events/s a slow fan-out then made its next
// batch bigger and so slower again). It returns the number of stream
// writes it made.
//
// The work is cut into slices (SetSlices) with Yield between them. A
// client that arrives during a yield is not written the events in
// progress: they are in the ring already, so a resume replays them, and a
// new client had not subscribed when they were published. A client that
// leaves during a yield is not written to.
func (h *Hub) Deliver(events []*Event) int { return h.DeliverMore(events, nil) }

// DeliverMore is Deliver, taking in the events that arrive meanwhile:
// after each yield it calls more (with the lock released; nil: never),
// and the events more returns, the next ones from the origin in order,
// join the fan-out in progress. The clients it has not reached yet get
// them in the same write as the rest; the ones it has are written them in
// a further round over the clients, which more can extend the same way.
//
// Without it, an event that arrived during a fan-out waited for that
// fan-out to end and then for its own: up to twice the time one fan-out
// to every client takes. Joining the one in progress, it waits for the
// fan-out to come round to each client once, and a client is written
// once per round however many events arrived during it.
func (h *Hub) DeliverMore(events []*Event, more func() []*Event) int {
	return h.deliverTraced(events, more, nil)
}

// deliverTraced is DeliverMore, adding its rounds to rounds (nil: not
// kept).
func (h *Hub) deliverTraced(events []*Event, more func() []*Event, rounds *[]RoundTrace) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.reg.writes
	h.deliverLocked(events, true, more, rounds)
	return int(h.reg.writes - w)
}

// Subscribers returns the number of clients held.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reg.clients)
}

// storeLocked numbers events and keeps them in the ring.
func (h *Hub) storeLocked(events []*Event) {
	for _, e := range events {
		h.events++
		e.seq = h.events
		h.ring.Push(e)
	}
}

// deliverLocked is deliverTraced; with yield false it keeps the lock
// throughout (and never calls more).
func (h *Hub) deliverLocked(events []*Event, yield bool, more func() []*Event, rounds *[]RoundTrace) {
	if len(events) == 0 {
		return
	}
	h.storeLocked(events)
	// The events of this delivery that some client may lack, in order;
	// clipped, so that joining more never writes into the caller's array.
	pending := slices.Clip(events)
	for {
		h.batches++
		f := newFanout(pending)
		cs := h.reg.lacking(h.snap, f.newest())
		h.snap = nil // a Deliver during a yield must not share it
		keep := rounds != nil && len(*rounds) < maxRounds
		var round RoundTrace
		if keep { // what the round adds to the counters, from here
			round = RoundTrace{Writes: int(h.reg.comments - h.reg.writes), Bytes: -int(h.reg.bytes), StartMs: unixMs(time.Now())}
		}
		for i := 0; i < len(cs); {
			if i > 0 && yield {
				if extra := h.yieldLocked(more); len(extra) > 0 {
					h.storeLocked(extra)
					f.extend(extra)
				}
			}
			restore := h.shareLocked(f.events)
			n, failed := h.reg.fanoutSlice(f, cs[i:])
			restore()
			h.dropLocked(failed...)
			i += n
		}
		if keep {
			round.Writes += int(h.reg.writes - h.reg.comments)
			round.Bytes += int(h.reg.bytes)
			round.DoneMs = unixMs(time.Now())
			*rounds = append(*rounds, round)
		}
		h.checkBudgetLocked()
		// The clients this round reached before events joined it lack
		// those: one more round for them (the ones that came since lack
		// nothing: their upTo is newer).
		clear(cs)
		h.snap = cs[:0]
		from := h.reg.oldest(f.newest())
		if from == f.newest() {
			return
		}
		pending = f.after(from)
	}
}

// SetSlices sets, before the hub is used, the stream writes per slice of a
// fan-out, a heartbeat or a probe round, and the events the feed decodes
// per slice; 0 keeps DefaultSliceWrites or DefaultDecodeSlice. Smaller
// slices let a request or the platform's stream work in sooner, at the
// cost of one event-loop turn per slice.
func (h *Hub) SetSlices(writes, decode int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reg.sliceWrites, h.decodeEvents = cmp.Or(writes, DefaultSliceWrites), cmp.Or(decode, DefaultDecodeSlice)
}

// SetRoundSlice sets the stream writes per slice of a heartbeat or probe
// round (0: as a fan-out's, SetSlices).
func (h *Hub) SetRoundSlice(writes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reg.roundWrites = writes
}

// decodeSlice is the feed's events per decode slice.
func (h *Hub) decodeSlice() int { return h.decodeEvents }

// yieldLocked calls Yield and then more (nil: none) with the lock
// released, and returns what more returned.
func (h *Hub) yieldLocked(more func() []*Event) []*Event {
	if h.Yield == nil && more == nil {
		return nil
	}
	h.mu.Unlock()
	defer h.mu.Lock()
	if h.Yield != nil {
		h.Yield()
	}
	if more != nil {
		return more()
	}
	return nil
}

// shareLocked gives events topics shared through h.Matching for their
// fan-out, and returns the function that puts the plain ones back: the
// ring keeps events without the memo, which replays do not use.
func (h *Hub) shareLocked(events []*Event) func() {
	// Without a costly selector held there is nothing to share (Share
	// returns the topics themselves): skip the copy of every event's
	// topics, which runs once per slice.
	if h.Matching == nil || h.Matching.Stats().Selectors == 0 {
		return func() {}
	}
	plain := make([]*topic.Topics, len(events))
	for i, e := range events {
		plain[i] = e.Topics
		e.Topics = h.Matching.Share(e.Topics)
	}
	return func() {
		for i, e := range events {
			e.Topics = plain[i]
		}
	}
}

// Heartbeat writes a comment to every client, which also finds clients
// whose stream is gone. Like Deliver, it works in slices with Yield
// between them, so that live events never wait for a heartbeat to every
// stream: the comment is written to the clients held when it began and
// still held when their slice comes.
func (h *Hub) Heartbeat() {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := h.reg.snapshot(nil)
	for i := 0; i < len(cs); {
		if i > 0 {
			h.yieldLocked(nil)
		}
		n, failed := h.reg.heartbeatSlice(cs[i:])
		h.dropLocked(failed...)
		i += n
	}
	h.checkBudgetLocked()
}

// ProbesPerHeartbeat is how many Probe rounds the worker runs per
// CLIENT_HEARTBEAT_MS (docs/PLATFORM.md, fact 20). A client that went away is noticed only when a
// write to its stream fails, and that takes more than one write: measured
// under wrangler dev with curl killed while no events flowed, the
// departure surfaced at the 2nd write after it when the client talked to
// the worker's workerd directly (8.0 s with writes every 5 s) and at the
// 3rd through wrangler's proxy (13.1 s; 40 s with the default 15 s), as the
// first write to a closed TCP connection succeeds and only draws a reset,
// and each proxy in between needs its own. With a round every third of
// the heartbeat, k writes take at most k/3 of it: up to 5 writes leave a
// departure noticed within 2 × CLIENT_HEARTBEAT_MS whatever the traffic.
const ProbesPerHeartbeat = 3

// Probe writes a comment to every client that received nothing since the
// previous Probe, which finds the clients whose stream is gone, without
// adding writes for clients that events keep busy. Run it
// ProbesPerHeartbeat times per heartbeat interval.
//
// Like Heartbeat, it writes in slices with Yield between them.
func (h *Hub) Probe() {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := h.reg.probeRound()
	for i := 0; i < len(cs); {
		if i > 0 {
			h.yieldLocked(nil)
		}
		n, failed := h.reg.heartbeatSlice(cs[i:])
		// A probe's own write does not count as traffic: the next round
		// probes the client again unless an event reaches it meanwhile.
		for _, cl := range cs[i : i+n] {
			cl.written = false
		}
		h.dropLocked(failed...)
		i += n
	}
	h.checkBudgetLocked()
}

// LastEventID returns the newest event id the hub has seen from the origin.
func (h *Hub) LastEventID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ring.Newest()
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Subscribers int `json:"subscribers"`
	// CatchingUp counts the subscribers whose replay is not written yet;
	// CatchupQueue those of them waiting for a fetch from the origin, and
	// CatchupInFlight the fetches in flight.
	CatchingUp      int    `json:"catchingUp"`
	CatchupQueue    int    `json:"catchupQueue"`
	CatchupInFlight int    `json:"catchupInFlight"`
	Events          uint64 `json:"events"`
	// Batches counts the rounds of the fan-outs of live events over the
	// clients (a fan-out that events joined while it ran has several:
	// Hub.DeliverMore); Writes the chunks written or held for clients,
	// heartbeats included.
	Batches uint64 `json:"batches"`
	Writes  uint64 `json:"writes"`
	// Comments counts the heartbeat comments among Writes, WrittenBytes
	// the bytes of the others (the terms of the CPU account).
	Comments     uint64 `json:"comments"`
	WrittenBytes uint64 `json:"writtenBytes"`
	Deliveries   uint64 `json:"deliveries"`
	Dropped      uint64 `json:"dropped"`
	Gaps         uint64 `json:"gaps"`
	// Catchups counts the subscribers that needed the origin's history,
	// CatchupFetches the fetches issued for them (one serves many).
	Catchups       uint64 `json:"catchups"`
	CatchupFetches uint64 `json:"catchupFetches"`
	RingLen        int    `json:"ringLen"`
	LastEventID    string `json:"lastEventID"`
	// QueuedBytes is the bytes waiting for the clients after their last
	// write, summed (as their streams reported them; a chunk shared by
	// many clients counts for each). QueuedBytesPeak is the most bytes
	// ever seen waiting for one client after a write, the clients dropped
	// included. Both are kept as writes settle: Stats walks no client
	// (walking 1,000 under js/wasm cost ≈ 150 µs of the object's thread
	// per stats request, README "Sizing").
	QueuedBytes     int `json:"queuedBytes"`
	QueuedBytesPeak int `json:"queuedBytesPeak"`
	// The CPU account since the last incoming request (budget.go).
	BudgetStats
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{
		QueuedBytes:     h.queues.bytes,
		QueuedBytesPeak: h.queues.peak,
		Subscribers:     len(h.reg.clients),
		CatchingUp:      h.reg.holding,
		CatchupQueue:    h.scheduler.n,
		CatchupInFlight: len(h.scheduler.fetches),
		Events:          h.events,
		Batches:         h.batches,
		Writes:          h.reg.writes,
		Comments:        h.reg.comments,
		WrittenBytes:    h.reg.bytes,
		Deliveries:      h.reg.deliveries,
		Dropped:         h.dropped,
		Gaps:            h.gaps,
		Catchups:        h.scheduler.catchups,
		CatchupFetches:  h.scheduler.issued,
		RingLen:         h.ring.Len(),
		LastEventID:     h.ring.Newest(),
		BudgetStats:     h.budgetStatsLocked(),
	}
}
