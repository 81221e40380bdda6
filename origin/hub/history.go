package hub

import "sync"

// History stores published events for resume. Implementations must be safe
// for concurrent use. Append is called with events in Seq order.
type History interface {
	// Append stores e. It returns ErrDuplicateID if e.ID is already held.
	Append(e *Event) error
	// After calls fn, in order, for each stored event published after the
	// event with the given id, stopping early when fn returns false. It
	// returns ErrUnknownID when id is not held.
	After(id string, fn func(*Event) bool) error
	// Last returns the newest stored event, or nil.
	Last() *Event
	// Len returns the number of stored events.
	Len() int
	// Close releases the store.
	Close() error
}

// MemoryHistory is a History bounded by event count, held in memory.
type MemoryHistory struct {
	mu    sync.RWMutex
	ring  []*Event
	head  int // index of the oldest event
	n     int
	index map[string]uint64 // id -> Seq
}

// NewMemoryHistory returns a History that keeps the newest size events.
func NewMemoryHistory(size int) *MemoryHistory {
	if size <= 0 {
		size = 1
	}
	return &MemoryHistory{ring: make([]*Event, size), index: make(map[string]uint64, size)}
}

// Append implements History.
func (h *MemoryHistory) Append(e *Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.index[e.ID]; ok {
		return ErrDuplicateID
	}
	if h.n == len(h.ring) {
		delete(h.index, h.ring[h.head].ID)
		h.ring[h.head] = e
		h.head = (h.head + 1) % len(h.ring)
	} else {
		h.ring[(h.head+h.n)%len(h.ring)] = e
		h.n++
	}
	h.index[e.ID] = e.Seq
	return nil
}

// After implements History.
func (h *MemoryHistory) After(id string, fn func(*Event) bool) error {
	h.mu.RLock()
	seq, ok := h.index[id]
	if !ok {
		h.mu.RUnlock()
		return ErrUnknownID
	}
	var out []*Event
	for i := 0; i < h.n; i++ {
		if e := h.ring[(h.head+i)%len(h.ring)]; e.Seq > seq {
			out = append(out, e)
		}
	}
	h.mu.RUnlock()
	for _, e := range out {
		if !fn(e) {
			break
		}
	}
	return nil
}

// Last implements History.
func (h *MemoryHistory) Last() *Event {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.n == 0 {
		return nil
	}
	return h.ring[(h.head+h.n-1)%len(h.ring)]
}

// Len implements History.
func (h *MemoryHistory) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

// Close implements History.
func (h *MemoryHistory) Close() error { return nil }
