package edge

import (
	"cmp"
	"math/bits"
	"slices"
)

// registry is the client side of a hub: the clients it holds and the
// fan-out that writes chunks to them. It does no locking (the hub's lock
// covers it) and never drops a client itself: a write that fails is
// reported, and the hub forgets the client everywhere.
type registry struct {
	clients map[uint64]*Client
	// order is the clients in the order they came, with those forgotten
	// since (Client.gone) until there are as many of them as of the others.
	order  []*Client
	gone   int
	nextID uint64
	// holding counts the clients whose held is not nil.
	holding int
	// heartbeat is the comment written to every client, held for none.
	heartbeat *Chunk
	// Counters: chunks written or held for clients, and events (or
	// comments) delivered by those writes; of those writes, the heartbeat
	// comments, and the bytes of the others (the CPU account, budget.go).
	writes, deliveries uint64
	comments, bytes    uint64
	// batch, when set, takes the writes of each slice to StreamSinks
	// in one call per chunk; pending gathers them meanwhile.
	batch   BatchWriter
	pending map[*Chunk]*pendingWrites
	spare   []*pendingWrites // emptied ones, for reuse
	// sliceWrites is the writes per slice (Hub.SetSlices).
	sliceWrites int
	// roundWrites is the writes per slice of a heartbeat or probe round
	// (0: sliceWrites).
	roundWrites int
}

// pendingWrites are the writes of one chunk gathered for a BatchWriter.
type pendingWrites struct {
	clients []*Client
	sinks   []*StreamSink
	events  []int // events each write delivers
	ws      []Writer
	limits  []QueueLimit
	waiting []Queued
}

// The slices a fan-out or a heartbeat is cut into: after this many stream
// writes, or this many clients looked at, the hub releases its lock and
// yields to the event loop (Hub.Yield), so that a request, an event or the
// platform's own stream work never waits for more than one slice. A write
// costs ≈ 30–70 µs of the object's thread in workerd (docs/PLATFORM.md,
// fact 16), so a slice of 64 is a few ms of writes, and as much again of
// workerd's work moving them out, at most. A yield is not free either (a
// timer turn of the event loop), but it did not show: measured 2026-12-04
// with the edge bench's burst step (1,000 clients, 1,000-event bursts,
// three runs each in turn), slices of 64 writes (and 16 events per decode
// slice) kept requests to the object during a burst within 28–47 ms p99
// against 65–87 with 256 (and 64), at 70–77 against 67–73 µs of CPU per
// write, the same within the runs' noise (README, "Sizing"). Heartbeat and probe rounds have slices of their own
// (Hub.SetRoundSlice, ROUND_SLICE_WRITES): their writes go to streams
// that have been idle, where each wakes workerd's pump, and a live event
// arriving during a round should wait for a few of them only (README,
// "Sizing").
const (
	DefaultSliceWrites = 64
	sliceClients       = 4096
)

// perSlice is the writes a slice of a fan-out may make.
func (r *registry) perSlice() int { return r.sliceWrites }

// roundSlice is the writes a slice of a heartbeat or probe round may
// make (Hub.SetRoundSlice; a fan-out's slice if not set).
func (r *registry) roundSlice() int { return cmp.Or(r.roundWrites, r.sliceWrites) }

func newRegistry() registry {
	return registry{clients: make(map[uint64]*Client), heartbeat: &Chunk{Bytes: []byte(":\n\n")}, sliceWrites: DefaultSliceWrites}
}

// hold starts holding live chunks for c until its replay is written.
func (r *registry) hold(c *Client) {
	if c.held == nil {
		c.held = []*Chunk{}
		r.holding++
	}
}

// unhold returns and forgets the chunks held for c.
func (r *registry) unhold(c *Client) []*Chunk {
	held := c.held
	if held != nil {
		c.held = nil
		r.holding--
	}
	return held
}

// fanout writes ch to every client that match accepts (nil: all) and
// returns the clients whose write failed.
func (r *registry) fanout(ch *Chunk, match func(*Client) bool) (failed []*Client) {
	for _, cl := range r.clients {
		if match != nil && !match(cl) {
			continue
		}
		r.writes++
		if r.write(cl, ch) {
			r.deliveries++
			continue
		}
		failed = append(failed, cl)
	}
	return failed
}

// snapshot returns the clients held now, in dst's storage.
func (r *registry) snapshot(dst []*Client) []*Client {
	dst = dst[:0]
	for _, cl := range r.clients {
		dst = append(dst, cl)
	}
	return dst
}

// add holds c.
func (r *registry) add(c *Client) {
	r.clients[c.ID] = c
	r.order = append(r.order, c)
}

// forget stops holding c.
func (r *registry) forget(c *Client) {
	if r.clients[c.ID] != c {
		return
	}
	delete(r.clients, c.ID)
	c.gone = true
	r.gone++
	if r.gone > len(r.order)/2 {
		r.order = slices.DeleteFunc(r.order, func(c *Client) bool { return c.gone })
		r.gone = 0
	}
}

// lacking returns, in dst's storage, the clients held now whose upTo is
// before seq, in the order they came.
//
// The order is the same in every round: while events keep arriving,
// rounds follow each other, and a client is reached once per round at
// about the same point of it, so an event waits at most about one round
// for each client. In the map's order, which changes from one iteration
// to the next, a client reached early in one round and late in the next
// could wait almost two.
func (r *registry) lacking(dst []*Client, seq uint64) []*Client {
	dst = dst[:0]
	for _, cl := range r.order {
		if !cl.gone && cl.upTo < seq {
			dst = append(dst, cl)
		}
	}
	return dst
}

// oldest returns the oldest upTo of the clients held now, or seq if none
// is older; it goes through the same clients as lacking.
func (r *registry) oldest(seq uint64) uint64 {
	for _, cl := range r.order {
		if !cl.gone {
			seq = min(seq, cl.upTo)
		}
	}
	return seq
}

// fanout is one round of a fan-out, cut into slices: the events some
// client may lack, in order (Event.seq), the chunks of the events each
// client matches among those after its upTo, shared by the clients that
// match the same events (keyed by the bit set of those events), and the
// bit set of each MatchKey from each upTo.
type fanout struct {
	events []*Event
	chunks map[string]*Chunk
	keys   map[matchFrom]string
	bits   []byte // scratch
}

// matchFrom is a MatchKey and the upTo a client of it has: the two decide
// the client's events.
type matchFrom struct {
	key  string
	upTo uint64
}

func newFanout(events []*Event) *fanout {
	return &fanout{events: events, chunks: make(map[string]*Chunk), keys: make(map[matchFrom]string), bits: make([]byte, (len(events)+7)/8)}
}

// newest is the seq of f's newest event.
func (f *fanout) newest() uint64 { return f.events[len(f.events)-1].seq }

// extend adds events that arrived during the round; the clients it has
// not reached yet get them in the same chunk as the rest. Each event
// keeps its bit, so the chunks made so far stay right for their sets.
func (f *fanout) extend(events []*Event) {
	f.events = append(f.events, events...)
	f.bits = make([]byte, (len(f.events)+7)/8)
	clear(f.keys) // the sets computed so far lack the new events
}

// after returns f's events after seq, a suffix of them.
func (f *fanout) after(seq uint64) []*Event {
	i, _ := slices.BinarySearchFunc(f.events, seq+1, func(e *Event, s uint64) int { return cmp.Compare(e.seq, s) })
	return f.events[i:]
}

// match returns the bit set of the events after cl.upTo that cl matches,
// as a string (its chunk's key), and how many they are; ok is false when
// none.
func (f *fanout) match(cl *Client) (set string, n int, ok bool) {
	k := matchFrom{cl.MatchKey, cl.upTo}
	if cl.MatchKey != "" {
		if set, ok := f.keys[k]; ok {
			n := setBits(set)
			return set, n, n > 0
		}
	}
	clear(f.bits)
	for i, e := range f.events {
		if e.seq > cl.upTo && cl.Match(e) {
			f.bits[i/8] |= 1 << (i % 8)
			n++
		}
	}
	set = string(f.bits)
	if cl.MatchKey != "" {
		f.keys[k] = set
	}
	return set, n, n > 0
}

// fanoutSlice writes the events of f to the clients of cs still held,
// each client getting the events it matches as ONE chunk. It stops after
// perSlice writes or sliceClients clients and returns how many of cs it
// went through and the clients whose write failed.
func (r *registry) fanoutSlice(f *fanout, cs []*Client) (done int, failed []*Client) {
	writes, limit := 0, r.perSlice()
	for done < len(cs) && writes < limit && done < sliceClients {
		cl := cs[done]
		done++
		if cl.gone || cl.upTo >= f.newest() { // left during a yield, or lacks nothing
			continue
		}
		set, n, ok := f.match(cl)
		cl.upTo = f.newest()
		if !ok {
			continue
		}
		c := f.chunks[set]
		if c == nil {
			c = joinChunks(f.events, set)
			f.chunks[set] = c
		}
		writes++
		r.writes++
		r.bytes += uint64(len(c.Bytes))
		if r.gather(cl, c, n) {
			continue
		}
		if r.write(cl, c) {
			r.deliveries += uint64(n)
			continue
		}
		failed = append(failed, cl)
	}
	return done, r.flush(failed)
}

// gather keeps the write of c to a live client with a StreamSink for the
// slice's batch, if there is a BatchWriter; it reports whether it did.
func (r *registry) gather(cl *Client, c *Chunk, events int) bool {
	if r.batch == nil || cl.held != nil {
		return false
	}
	s, ok := cl.Sink.(*StreamSink)
	if !ok {
		return false
	}
	if r.pending == nil {
		r.pending = make(map[*Chunk]*pendingWrites)
	}
	p := r.pending[c]
	if p == nil {
		if n := len(r.spare); n > 0 {
			p, r.spare = r.spare[n-1], r.spare[:n-1]
		} else {
			p = &pendingWrites{}
		}
		r.pending[c] = p
	}
	cl.written = true // as write does: a probe skips the client
	p.clients = append(p.clients, cl)
	p.sinks = append(p.sinks, s)
	p.events = append(p.events, events)
	p.ws = append(p.ws, s.w)
	p.limits = append(p.limits, s.limit)
	return true
}

// flush makes the gathered writes, one BatchWriter call per chunk, and
// returns failed with the clients whose write failed added.
func (r *registry) flush(failed []*Client) []*Client {
	for c, p := range r.pending {
		delete(r.pending, c)
		p.waiting = slices.Grow(p.waiting[:0], len(p.clients))[:len(p.clients)]
		r.batch.EnqueueBatch(c, p.ws, p.limits, p.waiting)
		for i, cl := range p.clients {
			if p.sinks[i].settle(p.waiting[i]) {
				r.deliveries += uint64(p.events[i])
			} else {
				failed = append(failed, cl)
			}
		}
		clear(p.clients)
		clear(p.sinks)
		clear(p.ws)
		p.clients, p.sinks, p.events, p.ws, p.limits = p.clients[:0], p.sinks[:0], p.events[:0], p.ws[:0], p.limits[:0]
		if len(r.spare) < 4 {
			r.spare = append(r.spare, p)
		}
	}
	return failed
}

// heartbeatSlice writes the heartbeat to the clients of cs still held,
// like fanoutSlice.
func (r *registry) heartbeatSlice(cs []*Client) (done int, failed []*Client) {
	writes, limit := 0, r.roundSlice()
	for done < len(cs) && writes < limit && done < sliceClients {
		cl := cs[done]
		done++
		if cl.gone { // left during a yield
			continue
		}
		writes++
		r.writes++
		r.comments++
		if r.gather(cl, r.heartbeat, 1) {
			continue
		}
		if r.write(cl, r.heartbeat) {
			r.deliveries++
			continue
		}
		failed = append(failed, cl)
	}
	return done, r.flush(failed)
}

// write writes c to a live client or holds it for a client in catch-up;
// it reports false when the client must be dropped.
func (r *registry) write(cl *Client, c *Chunk) bool {
	if cl.held == nil || c == r.heartbeat {
		// A comment before the replay changes nothing for a client in
		// catch-up, and writing it finds a client that left meanwhile.
		cl.written = true
		return cl.Sink.Write(c)
	}
	if len(cl.held) >= MaxHeld {
		return false
	}
	cl.held = append(cl.held, c)
	return true
}

// probeRound starts a probe round: it returns the clients that nothing
// was written to since the previous round, for the heartbeat comment, and
// marks the others as not written to.
func (r *registry) probeRound() (idle []*Client) {
	for _, cl := range r.clients {
		if cl.written {
			cl.written = false
			continue
		}
		idle = append(idle, cl)
	}
	return idle
}

// joinChunks returns the chunks of the events in set joined: the event's
// own chunk (and its Native form) when set holds one event.
func joinChunks(events []*Event, set string) *Chunk {
	has := func(i int) bool { return set[i/8]&(1<<(i%8)) != 0 }
	if setBits(set) == 1 {
		for i, e := range events {
			if has(i) {
				return e.Chunk
			}
		}
	}
	size := 0
	for i, e := range events {
		if has(i) {
			size += len(e.Chunk.Bytes)
		}
	}
	b := make([]byte, 0, size)
	for i, e := range events {
		if has(i) {
			b = append(b, e.Chunk.Bytes...)
		}
	}
	return &Chunk{Bytes: b}
}

// setBits returns the number of events in a bit set.
func setBits(set string) int {
	n := 0
	for i := 0; i < len(set); i++ {
		n += bits.OnesCount8(set[i])
	}
	return n
}
