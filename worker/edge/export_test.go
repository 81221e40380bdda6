package edge

import "fmt"

// CheckCatchup reports the first broken invariant of the hub's catch-up
// bookkeeping: the queue, the counters and the fetches in flight.
func (h *Hub) CheckCatchup() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	queued := make(map[*Client]bool)
	var prev *Client
	for c := h.scheduler.head; c != nil; prev, c = c, c.next {
		switch {
		case queued[c]:
			return fmt.Errorf("client %d queued twice", c.ID)
		case c.prev != prev:
			return fmt.Errorf("client %d: broken prev link", c.ID)
		case !c.waiting:
			return fmt.Errorf("client %d queued but not waiting", c.ID)
		case h.reg.clients[c.ID] != c:
			return fmt.Errorf("client %d queued but not held by the hub", c.ID)
		case c.held == nil:
			return fmt.Errorf("client %d queued with nothing held", c.ID)
		case prev != nil && prev.enq >= c.enq:
			return fmt.Errorf("client %d out of order in the queue", c.ID)
		}
		queued[c] = true
	}
	if h.scheduler.tail != prev {
		return fmt.Errorf("queue tail is not its last client")
	}
	if h.scheduler.n != len(queued) {
		return fmt.Errorf("queue length %d, %d clients queued", h.scheduler.n, len(queued))
	}
	holding := 0
	for _, c := range h.reg.clients {
		if c.held != nil {
			holding++
		}
		if c.waiting && !queued[c] {
			return fmt.Errorf("client %d waiting outside the queue", c.ID)
		}
	}
	if holding != h.reg.holding {
		return fmt.Errorf("holding counter %d, %d clients hold chunks", h.reg.holding, holding)
	}
	limit := h.scheduler.limit()
	if len(h.scheduler.fetches) > limit {
		return fmt.Errorf("%d fetches in flight, limit %d", len(h.scheduler.fetches), limit)
	}
	afters := make(map[string]bool)
	for _, f := range h.scheduler.fetches {
		if afters[f.After] {
			return fmt.Errorf("two fetches in flight after %q", f.After)
		}
		afters[f.After] = true
	}
	if h.scheduler.n > 0 && len(h.scheduler.fetches) == 0 {
		return fmt.Errorf("%d clients wait and no fetch is in flight", h.scheduler.n)
	}
	return nil
}

// NewEvent lets the external tests build events as the feed does.
var NewEvent = newEvent
