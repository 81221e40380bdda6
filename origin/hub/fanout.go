package hub

import (
	"sync"
	"sync/atomic"
)

// Hub numbers, stores and fans out events. The lock order is Hub.mu, then
// the History's own lock.
type Hub struct {
	mu      sync.Mutex
	seq     uint64
	history History
	subs    map[*Subscriber]struct{}
	closed  bool

	published  atomic.Uint64
	delivered  atomic.Uint64
	slowDrops  atomic.Uint64
	subscribed atomic.Int64
}

// New returns a hub that stores events in history.
func New(history History) *Hub {
	h := &Hub{history: history, subs: make(map[*Subscriber]struct{})}
	if last := history.Last(); last != nil {
		h.seq = last.Seq
	}
	return h
}

// Publish stores e and offers it to every matching subscriber. It sets
// e.Seq. A subscriber whose queue is full is dropped with ErrSlow.
func (h *Hub) Publish(e *Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	e.Seq = h.seq + 1
	if err := h.history.Append(e); err != nil {
		return err
	}
	h.seq = e.Seq
	h.published.Add(1)
	for s := range h.subs {
		if s.Match != nil && !s.Match(e) {
			continue
		}
		if s.offer(e) {
			h.delivered.Add(1)
			continue
		}
		h.slowDrops.Add(1)
		h.removeLocked(s, ErrSlow)
	}
	return nil
}

// Subscribe registers s. When lastEventID is not empty it also returns the
// stored events after that id that s matches, in order; every later event
// arrives on s's queue, so replay followed by the queue has no gap and no
// duplicate. If lastEventID is unknown, s is still registered and the error
// is ErrUnknownID, so the caller can tell the client it missed events.
func (h *Hub) Subscribe(s *Subscriber, lastEventID string) ([]*Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	h.subs[s] = struct{}{}
	h.subscribed.Add(1)
	if lastEventID == "" {
		return nil, nil
	}
	var replay []*Event
	err := h.history.After(lastEventID, func(e *Event) bool {
		if s.Match == nil || s.Match(e) {
			replay = append(replay, e)
		}
		return true
	})
	return replay, err
}

// Unsubscribe removes s; it is safe to call more than once.
func (h *Hub) Unsubscribe(s *Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s, nil)
}

func (h *Hub) removeLocked(s *Subscriber, reason error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	h.subscribed.Add(-1)
	s.drop(reason)
}

// LastEventID returns the id of the newest stored event, or "".
func (h *Hub) LastEventID() string {
	if e := h.history.Last(); e != nil {
		return e.ID
	}
	return ""
}

// Close drops every subscriber with ErrClosed and refuses further use. It
// does not close the History, which the caller owns.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.removeLocked(s, ErrClosed)
	}
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Subscribers int64
	Published   uint64
	Delivered   uint64
	SlowDrops   uint64
	History     int
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Subscribers: h.subscribed.Load(),
		Published:   h.published.Load(),
		Delivered:   h.delivered.Load(),
		SlowDrops:   h.slowDrops.Load(),
		History:     h.history.Len(),
	}
}
