package edge

import "fmt"

// CheckCatchup reports the first broken invariant of the hub's catch-up
// bookkeeping: the queue, the counters and the fetches in flight.
func (h *Hub) CheckCatchup() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	queued := make(map[*Client]bool)
	var prev *Client
	for c := h.qHead; c != nil; prev, c = c, c.next {
		switch {
		case queued[c]:
			return fmt.Errorf("client %d queued twice", c.ID)
		case c.prev != prev:
			return fmt.Errorf("client %d: broken prev link", c.ID)
		case !c.waiting:
			return fmt.Errorf("client %d queued but not waiting", c.ID)
		case h.clients[c.ID] != c:
			return fmt.Errorf("client %d queued but not held by the hub", c.ID)
		case c.held == nil:
			return fmt.Errorf("client %d queued with nothing held", c.ID)
		case prev != nil && prev.enq >= c.enq:
			return fmt.Errorf("client %d out of order in the queue", c.ID)
		}
		queued[c] = true
	}
	if h.qTail != prev {
		return fmt.Errorf("queue tail is not its last client")
	}
	if h.qLen != len(queued) {
		return fmt.Errorf("queue length %d, %d clients queued", h.qLen, len(queued))
	}
	holding := 0
	for _, c := range h.clients {
		if c.held != nil {
			holding++
		}
		if c.waiting && !queued[c] {
			return fmt.Errorf("client %d waiting outside the queue", c.ID)
		}
	}
	if holding != h.holding {
		return fmt.Errorf("holding counter %d, %d clients hold chunks", h.holding, holding)
	}
	limit := h.MaxFetches
	if limit <= 0 {
		limit = DefaultMaxFetches
	}
	if len(h.fetches) > limit {
		return fmt.Errorf("%d fetches in flight, limit %d", len(h.fetches), limit)
	}
	afters := make(map[string]bool)
	for _, f := range h.fetches {
		if afters[f.After] {
			return fmt.Errorf("two fetches in flight after %q", f.After)
		}
		afters[f.After] = true
	}
	if h.qLen > 0 && len(h.fetches) == 0 {
		return fmt.Errorf("%d clients wait and no fetch is in flight", h.qLen)
	}
	return nil
}

// NewEvent lets the external tests build events as the feed does.
var NewEvent = newEvent
