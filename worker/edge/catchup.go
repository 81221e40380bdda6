package edge

import "github.com/edge-sse/edge-sse/shared/mercure"

// Catch-up: a client whose Last-Event-ID is older than the ring waits in
// the hub's queue, its live chunks held, for a range of the origin's
// history. One fetch serves every waiting client whose range it covers.

// DefaultMaxFetches is the number of catch-up fetches a hub keeps in flight
// when its MaxFetches is 0.
const DefaultMaxFetches = 2

// Fetch asks the owner of the hub to fetch from the origin's history the
// events after After up to and including Until, then to call FinishFetch
// with Key, or FailFetch with Key when the origin could not be asked. One
// fetch serves every client in catch-up whose range it covers.
type Fetch struct {
	Key          uint64
	After, Until string
}

// fetch is a Fetch in flight; issued is the hub's enqueued count when it
// was issued: the clients queued before it have their until at or before
// its Until (unless a feed Gap emptied the ring, when Until falls back to
// the client's own).
type fetch struct {
	Fetch
	issued uint64
}

// scheduler is the catch-up side of a hub: the queue of clients waiting
// for the origin's history, oldest first, and the fetches in flight. It
// decides which fetches to issue and which waiting clients an answer
// serves; the hub writes to the clients. The hub's lock covers it.
type scheduler struct {
	// OnFetch is called, with the hub locked, when clients in catch-up
	// need a range of the origin's history; it must not block nor call
	// the hub (start a goroutine that ends with FinishFetch or FailFetch).
	// Set it, and MaxFetches (0: DefaultMaxFetches), before the hub is used.
	OnFetch    func(Fetch)
	MaxFetches int

	// head and tail link the queue; n counts it; enqueued counts the
	// clients ever queued (the next enq).
	head, tail *Client
	n          int
	enqueued   uint64
	// fetches are the fetches in flight by key; key is the last key.
	fetches map[uint64]*fetch
	key     uint64
	// Counters: clients that needed the origin's history, fetches issued.
	catchups, issued uint64
}

// served is a waiting client an answer serves: its events, which it may
// not all match, go out before its held chunks.
type served struct {
	c      *Client
	events []*Event
}

// enqueue appends c to the queue.
func (q *scheduler) enqueue(c *Client) {
	q.catchups++
	c.waiting, c.enq = true, q.enqueued
	q.enqueued++
	c.prev, c.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = c
	} else {
		q.head = c
	}
	q.tail = c
	q.n++
}

// unlink takes c out of the queue.
func (q *scheduler) unlink(c *Client) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		q.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		q.tail = c.prev
	}
	c.prev, c.next, c.waiting = nil, nil, false
	q.n--
}

func (q *scheduler) limit() int {
	if q.MaxFetches <= 0 {
		return DefaultMaxFetches
	}
	return q.MaxFetches
}

// issue issues fetches, while fewer than MaxFetches are in flight, for the
// oldest waiting clients from c on that no fetch in flight may serve, each
// from the client's id to newest, the ring's newest id. A fetch in flight
// may serve a client when it starts at the client's id (never two in
// flight from the same id), or when the client was already waiting when
// it was issued or came with the same ring newest: the client's range may
// lie inside the fetch's (ids are opaque; only the answer tells). Such a
// client waits for that answer rather than cost the origin a second,
// overlapping request. The queue is looked at again from its start
// whenever a fetch ends, so while clients wait a fetch is in flight, and
// each fetch ends the wait of the client it was issued for (served, told
// of a gap, or disconnected).
func (q *scheduler) issue(c *Client, newest string) {
next:
	for ; c != nil && len(q.fetches) < q.limit(); c = c.next {
		for _, f := range q.fetches {
			if c.after == f.After || c.enq < f.issued || c.until == f.Until {
				continue next
			}
		}
		until := newest
		if until == "" { // the ring was reset by a feed gap
			until = c.until
		}
		q.key++
		f := &fetch{Fetch: Fetch{Key: q.key, After: c.after, Until: until}, issued: q.enqueued}
		q.fetches[f.Key] = f
		q.issued++
		q.OnFetch(f.Fetch)
	}
}

// end takes the fetch with this key out of the fetches in flight and
// returns it, or nil when there is none (ended already).
func (q *scheduler) end(key uint64) *fetch {
	f := q.fetches[key]
	delete(q.fetches, key)
	return f
}

// finish takes out of the queue the clients that the answer to f serves
// (see Hub.FinishFetch) and those it should have served and does not
// (drop), and with gap the clients resuming from f's After (missed).
func (q *scheduler) finish(f *fetch, events []*Event, gap bool) (serve []served, missed, drop []*Client) {
	if gap {
		return nil, q.resumingFrom(f.After), nil
	}
	pos := make(map[string]int, len(events))
	for i, e := range events {
		pos[e.ID] = i
	}
	at := func(id string) (int, bool) {
		if id == f.After {
			return -1, true
		}
		i, ok := pos[id]
		return i, ok
	}
	for c, next := q.head, (*Client)(nil); c != nil; c = next {
		next = c.next
		from, ok := at(c.after)
		if !ok {
			continue
		}
		to, ok := at(c.until)
		if !ok || to < from {
			if c.after == f.After && c.enq < f.issued {
				// The answer should reach c.until (it was the ring's newest
				// before the fetch was issued) and does not: rather than
				// ask the origin again and again, let the client resume later.
				q.unlink(c)
				drop = append(drop, c)
			}
			continue
		}
		q.unlink(c)
		serve = append(serve, served{c: c, events: events[from+1 : to+1]})
	}
	return serve, nil, drop
}

// resumingFrom takes out of the queue and returns the clients resuming
// from after.
func (q *scheduler) resumingFrom(after string) (out []*Client) {
	for c, next := q.head, (*Client)(nil); c != nil; c = next {
		next = c.next
		if c.after == after {
			q.unlink(c)
			out = append(out, c)
		}
	}
	return out
}

// FinishFetch completes the fetch with this key with the events the origin
// returned after its After up to its Until, in order, or with gap when the
// origin no longer holds its After.
//
// Without a gap, every waiting client whose range the events cover (its id
// is the fetch's After or one of the events, and its until is that or a
// later one of the events) gets the events after its id up to its until
// that it matches, then its held chunks, and goes live. Events after its
// until are not written: its held chunks already carry them. With a gap,
// the clients resuming from the fetch's After get the missed-events notice
// then their held chunks. The other clients keep waiting for a later fetch.
func (h *Hub) FinishFetch(key uint64, events []*Event, gap bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.scheduler.end(key)
	if f == nil {
		return
	}
	serve, missed, drop := h.scheduler.finish(f, events, gap)
	for _, c := range missed {
		h.gaps++
		h.releaseLocked(c, mercure.AppendMissed(nil, mercure.ReasonUnknownID), nil)
	}
	for _, s := range serve {
		h.releaseLocked(s.c, nil, s.events)
	}
	for _, c := range drop {
		h.forgetLocked(c) // not a stream failure: not counted as dropped
		c.Sink.Close()
	}
	h.scheduler.issue(h.scheduler.head, h.ring.Newest())
}

// FailFetch ends the fetch with this key when the origin could not be
// asked: the clients resuming from its After are disconnected, to resume
// later, rather than told anything false. The other waiting clients get
// later fetches.
func (h *Hub) FailFetch(key uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.scheduler.end(key)
	if f == nil {
		return
	}
	for _, c := range h.scheduler.resumingFrom(f.After) {
		h.forgetLocked(c)
		c.Sink.Close()
	}
	h.scheduler.issue(h.scheduler.head, h.ring.Newest())
}

// CatchingUp returns the number of clients whose replay is not written yet:
// those waiting for the origin and those waiting for the feed's first Hello.
func (h *Hub) CatchingUp() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reg.holding
}

// InRing reports whether a client resuming after id is served without a
// fetch from the origin: id is empty, the ring holds it or starts right
// after it, or the origin held nothing when the feed began (the client is
// told at once that its id is unknown); for Earliest, the ring holds every
// event the origin ever held. Before the feed's first Hello the
// ring knows nothing yet, and a client with an id is counted as one that
// may need a fetch.
func (h *Hub) InRing(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case id == "":
		return true
	case !h.anchored:
		return false
	}
	return h.ring.Newest() == "" || h.ring.Has(ringID(id))
}
