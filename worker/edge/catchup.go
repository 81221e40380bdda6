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

// enqueueLocked appends c to the catch-up queue.
func (h *Hub) enqueueLocked(c *Client) {
	c.waiting, c.enq = true, h.enqueued
	h.enqueued++
	c.prev, c.next = h.qTail, nil
	if h.qTail != nil {
		h.qTail.next = c
	} else {
		h.qHead = c
	}
	h.qTail = c
	h.qLen++
}

// unlinkLocked takes c out of the catch-up queue.
func (h *Hub) unlinkLocked(c *Client) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		h.qHead = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		h.qTail = c.prev
	}
	c.prev, c.next, c.waiting = nil, nil, false
	h.qLen--
}

// issueLocked issues fetches, while fewer than MaxFetches are in flight,
// for the oldest waiting clients from c on that no fetch in flight may
// serve, each from the client's id to the ring's newest. A fetch in flight
// may serve a client when it starts at the client's id (never two in
// flight from the same id), or when the client was already waiting when it
// was issued or came with the same ring newest: the client's range may lie
// inside the fetch's (ids are opaque; only the answer tells). Such a client
// waits for that answer rather than cost the origin a second, overlapping
// request. The queue is looked at again from its start whenever a fetch
// ends, so while clients wait a fetch is in flight, and each fetch ends
// the wait of the client it was issued for (served, told of a gap, or
// disconnected).
func (h *Hub) issueLocked(c *Client) {
	limit := h.MaxFetches
	if limit <= 0 {
		limit = DefaultMaxFetches
	}
next:
	for ; c != nil && len(h.fetches) < limit; c = c.next {
		for _, f := range h.fetches {
			if c.after == f.After || c.enq < f.issued || c.until == f.Until {
				continue next
			}
		}
		until := h.ring.Newest()
		if until == "" { // the ring was reset by a feed gap
			until = c.until
		}
		h.fetchKey++
		f := &fetch{Fetch: Fetch{Key: h.fetchKey, After: c.after, Until: until}, issued: h.enqueued}
		h.fetches[f.Key] = f
		h.fetched++
		h.OnFetch(f.Fetch)
	}
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
	f := h.endFetchLocked(key)
	if f == nil {
		return
	}
	if gap {
		for c, next := h.qHead, (*Client)(nil); c != nil; c = next {
			next = c.next
			if c.after == f.After {
				h.unlinkLocked(c)
				h.gaps++
				h.releaseLocked(c, mercure.AppendMissed(nil, mercure.ReasonUnknownID), nil)
			}
		}
		h.issueLocked(h.qHead)
		return
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
	for c, next := h.qHead, (*Client)(nil); c != nil; c = next {
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
				h.forgetLocked(c)
				c.Sink.Close()
			}
			continue
		}
		h.unlinkLocked(c)
		h.releaseLocked(c, nil, events[from+1:to+1])
	}
	h.issueLocked(h.qHead)
}

// FailFetch ends the fetch with this key when the origin could not be
// asked: the clients resuming from its After are disconnected, to resume
// later, rather than told anything false. The other waiting clients get
// later fetches.
func (h *Hub) FailFetch(key uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.endFetchLocked(key)
	if f == nil {
		return
	}
	for c, next := h.qHead, (*Client)(nil); c != nil; c = next {
		next = c.next
		if c.after == f.After {
			h.forgetLocked(c)
			c.Sink.Close()
		}
	}
	h.issueLocked(h.qHead)
}

// CatchingUp returns the number of clients whose replay is not written yet:
// those waiting for the origin and those waiting for the feed's first Hello.
func (h *Hub) CatchingUp() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.holding
}

// InRing reports whether a client resuming after id is served without a
// fetch from the origin: id is empty, the ring holds it or starts right
// after it, or the origin held nothing when the feed began (the client is
// told at once that its id is unknown). Before the feed's first Hello the
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
	case id == h.ring.base || h.ring.Newest() == "":
		return true
	}
	_, ok := h.ring.index[id] // Ring.After without building the slice
	return ok
}

// endFetchLocked takes the fetch with this key out of the fetches in
// flight and returns it, or nil when there is none (ended already).
func (h *Hub) endFetchLocked(key uint64) *fetch {
	f := h.fetches[key]
	delete(h.fetches, key)
	return f
}
