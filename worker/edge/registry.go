package edge

// registry is the client side of a hub: the clients it holds and the
// fan-out that writes chunks to them. It does no locking (the hub's lock
// covers it) and never drops a client itself: a write that fails is
// reported, and the hub forgets the client everywhere.
type registry struct {
	clients map[uint64]*Client
	nextID  uint64
	// holding counts the clients whose held is not nil.
	holding int
	// heartbeat is the comment written to every client, held for none.
	heartbeat *Chunk
	// Counters: chunks written or held for clients, and events (or
	// comments) delivered by those writes.
	writes, deliveries uint64
}

func newRegistry() registry {
	return registry{clients: make(map[uint64]*Client), heartbeat: &Chunk{Bytes: []byte(":\n\n")}}
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

// fanoutEvents writes up to 64 events, each client getting the events it
// matches as ONE chunk, shared by the clients that match the same events
// (keyed by the bit mask of those events). It returns the clients whose
// write failed.
func (r *registry) fanoutEvents(events []*Event) (failed []*Client) {
	if len(events) == 1 {
		e := events[0]
		return r.fanout(e.Chunk, func(c *Client) bool { return c.Match(e) })
	}
	chunks := make(map[uint64]*Chunk)
	for _, cl := range r.clients {
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
		r.writes++
		if r.write(cl, c) {
			r.deliveries += uint64(bitsSet(mask))
			continue
		}
		failed = append(failed, cl)
	}
	return failed
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

// probe writes the heartbeat comment to every client that nothing was
// written to since the previous probe, and starts the next round. It
// returns the clients whose write failed.
func (r *registry) probe() (failed []*Client) {
	for _, cl := range r.clients {
		if cl.written {
			cl.written = false
			continue
		}
		r.writes++
		if r.write(cl, r.heartbeat) {
			r.deliveries++
			cl.written = false
			continue
		}
		failed = append(failed, cl)
	}
	return failed
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
