package hub

import (
	"sync"
	"time"
)

// MemoryOptions configures a MemoryHistory. Zero values take the defaults
// documented on each field.
type MemoryOptions struct {
	// MaxEvents bounds the number of events kept (default 10000).
	MaxEvents int
	// MaxAge, when positive, also expires events older than MaxAge
	// (default 0: events leave only when MaxEvents pushes them out).
	MaxAge time.Duration
	// Now returns the current time (default time.Now); tests replace it.
	Now func() time.Time
}

// MemoryHistory is a History held in a ring in memory, bounded by event
// count and optionally by age. It forgets everything on restart.
type MemoryHistory struct {
	opts MemoryOptions

	mu    sync.RWMutex
	ring  []memoryEntry
	head  int // index of the oldest event
	n     int
	last  uint64            // Seq of the newest event ever stored
	index map[string]uint64 // id -> Seq of the held events
}

type memoryEntry struct {
	e  *Event
	at int64 // unix nanoseconds when stored
}

// NewMemoryHistory returns a History that keeps the newest size events
// (10000 when size is not positive).
func NewMemoryHistory(size int) *MemoryHistory {
	return NewMemoryHistoryWithOptions(MemoryOptions{MaxEvents: size})
}

// NewMemoryHistoryWithOptions returns a MemoryHistory configured by opts.
func NewMemoryHistoryWithOptions(opts MemoryOptions) *MemoryHistory {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &MemoryHistory{
		opts:  opts,
		ring:  make([]memoryEntry, opts.MaxEvents),
		index: make(map[string]uint64, opts.MaxEvents),
	}
}

// Append implements History. Seqs start at 1.
func (h *MemoryHistory) Append(e *Event) error {
	now := h.opts.Now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireLocked(now)
	if _, ok := h.index[e.ID]; ok {
		return ErrDuplicateID
	}
	if h.n == len(h.ring) {
		h.dropOldestLocked()
	}
	h.last++
	e.Seq = h.last
	h.ring[(h.head+h.n)%len(h.ring)] = memoryEntry{e: e, at: now}
	h.n++
	h.index[e.ID] = e.Seq
	return nil
}

func (h *MemoryHistory) dropOldestLocked() {
	delete(h.index, h.ring[h.head].e.ID)
	h.ring[h.head] = memoryEntry{}
	h.head = (h.head + 1) % len(h.ring)
	h.n--
}

// expireLocked drops the events older than MaxAge.
func (h *MemoryHistory) expireLocked(now int64) {
	if h.opts.MaxAge <= 0 {
		return
	}
	cutoff := now - int64(h.opts.MaxAge)
	for h.n > 0 && h.ring[h.head].at < cutoff {
		h.dropOldestLocked()
	}
}

// entryLocked returns the held entry with the given Seq.
func (h *MemoryHistory) entryLocked(seq uint64) (memoryEntry, bool) {
	if h.n == 0 {
		return memoryEntry{}, false
	}
	first := h.ring[h.head].e.Seq
	if seq < first || seq > h.last {
		return memoryEntry{}, false
	}
	return h.ring[(h.head+int(seq-first))%len(h.ring)], true
}

// Lookup implements History. An event older than MaxAge counts as expired
// even before an Append removes it.
func (h *MemoryHistory) Lookup(id string) (uint64, error) {
	now := h.opts.Now().UnixNano()
	h.mu.RLock()
	defer h.mu.RUnlock()
	seq, ok := h.index[id]
	if !ok {
		return 0, ErrUnknownID
	}
	if ent, _ := h.entryLocked(seq); h.opts.MaxAge > 0 && ent.at < now-int64(h.opts.MaxAge) {
		return 0, ErrUnknownID
	}
	return seq, nil
}

// Range implements History. fn runs under the history's read lock and must
// not call back into the history.
func (h *MemoryHistory) Range(after, until uint64, fn func(*Event) bool) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if _, ok := h.entryLocked(after); !ok {
		return ErrUnknownID
	}
	for seq := after + 1; seq <= until && seq <= h.last; seq++ {
		ent, _ := h.entryLocked(seq)
		if !fn(ent.e) {
			break
		}
	}
	return nil
}

// RangeOldest implements History. Events older than MaxAge are held no
// more, as for Lookup. fn runs under the history's read lock.
func (h *MemoryHistory) RangeOldest(until uint64, fn func(*Event) bool) error {
	now := h.opts.Now().UnixNano()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for i := range h.n {
		ent := h.ring[(h.head+i)%len(h.ring)]
		if ent.e.Seq > until {
			break
		}
		if h.opts.MaxAge > 0 && ent.at < now-int64(h.opts.MaxAge) {
			continue
		}
		if !fn(ent.e) {
			break
		}
	}
	return nil
}

// Last implements History.
func (h *MemoryHistory) Last() (uint64, string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.n == 0 {
		return h.last, ""
	}
	return h.last, h.ring[(h.head+h.n-1)%len(h.ring)].e.ID
}

// Len implements History.
func (h *MemoryHistory) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

// Close implements History; a MemoryHistory holds nothing to release.
func (h *MemoryHistory) Close() error { return nil }
