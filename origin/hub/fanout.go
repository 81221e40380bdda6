package hub

import (
	"context"
	"sync"
	"time"
)

// shardCount is the number of subscriber shards. A shard's lock is held
// while one event is offered to that shard's subscribers only, so
// Subscribe and Unsubscribe wait for at most 1/shardCount of a fan-out.
const shardCount = 32

// shard is one slice of the subscribers, with the Seq of the last event
// offered to it. Its fields are guarded by mu.
type shard struct {
	mu   sync.Mutex
	seq  uint64
	subs []*Subscriber
	_    [24]byte // keep neighbouring shards' mutexes off one cache line
}

// offer hands e to every subscriber of the shard that wants it, dropping the
// ones whose queue is full. It does not allocate.
func (sh *shard) offer(e *Event) (delivered, dropped int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.seq = e.Seq
	for i := 0; i < len(sh.subs); {
		s := sh.subs[i]
		if e.Seq <= s.after || (s.Match != nil && !s.Match(e)) {
			i++
			continue
		}
		if s.offer(e) {
			delivered++
			i++
			continue
		}
		sh.removeAtLocked(i)
		s.drop(ErrSlow)
		dropped++
	}
	return delivered, dropped
}

// removeAtLocked removes subs[i] by moving the last subscriber into its place.
func (sh *shard) removeAtLocked(i int) {
	last := len(sh.subs) - 1
	if i != last {
		sh.subs[i] = sh.subs[last]
		sh.subs[i].idx = i
	}
	sh.subs[last] = nil
	sh.subs = sh.subs[:last]
}

// remove drops s from the shard with reason and reports whether it was there.
func (sh *shard) remove(s *Subscriber, reason error) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.idx >= len(sh.subs) || sh.subs[s.idx] != s {
		return false
	}
	sh.removeAtLocked(s.idx)
	s.drop(reason)
	return true
}

// register adds s to a shard and returns that shard's Seq: every event
// above it will be offered to s, every event at or below it is stored.
// Events up to max(that Seq, after) are never offered to s.
func (h *Hub) register(s *Subscriber, after uint64) (until uint64, err error) {
	sh := &h.shards[h.pick.Add(1)%shardCount]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if h.closed.Load() {
		return 0, ErrClosed
	}
	if !s.shard.CompareAndSwap(nil, sh) {
		return 0, ErrSubscribed
	}
	until = sh.seq
	s.after = max(until, after)
	s.idx = len(sh.subs)
	sh.subs = append(sh.subs, s)
	h.subscribed.Add(1)
	return until, nil
}

// deliver offers e to every shard in turn. It runs on the fan-out goroutine
// only, with events in increasing Seq order.
func (h *Hub) deliver(e *Event) {
	var delivered, dropped int
	for i := range h.shards {
		d, x := h.shards[i].offer(e)
		delivered += d
		dropped += x
	}
	h.delivered.Add(uint64(delivered))
	if dropped > 0 {
		h.slowDrops.Add(uint64(dropped))
		h.subscribed.Add(-int64(dropped))
	}
	h.fanned.advance(e.Seq)
}

// progress is the Seq up to which the hub has fanned out, which Publish
// waits for. Its fields are guarded by mu.
type progress struct {
	mu   sync.Mutex
	seq  uint64
	wake chan struct{} // made by a waiter; closed and cleared by advance
}

func (p *progress) advance(seq uint64) {
	p.mu.Lock()
	p.seq = max(p.seq, seq)
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
	p.mu.Unlock()
}

// wait returns once seq is fanned out, ctx is done or timeout fires (nil:
// never).
func (p *progress) wait(ctx context.Context, seq uint64, timeout <-chan time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.seq < seq {
		if p.wake == nil {
			p.wake = make(chan struct{})
		}
		wake := p.wake
		p.mu.Unlock()
		var stop bool
		select {
		case <-wake:
		case <-ctx.Done():
			stop = true
		case <-timeout:
			stop = true
		}
		p.mu.Lock()
		if stop {
			return
		}
	}
}

// dropAll drops every subscriber with reason. When resume is not nil, each
// shard's Seq becomes *resume in the same critical section.
func (h *Hub) dropAll(reason error, resume *uint64) {
	var n int
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, s := range sh.subs {
			s.drop(reason)
		}
		n += len(sh.subs)
		clear(sh.subs)
		sh.subs = sh.subs[:0]
		if resume != nil {
			sh.seq = *resume
		}
		sh.mu.Unlock()
	}
	h.subscribed.Add(-int64(n))
}

// lostEvents is the Tailer's lost callback: the events after the hub's
// position up to resume were trimmed before the hub read them. Subscribers
// are dropped with ErrLost, and later ones start from resume, so a resume
// from before the gap finds its id expired instead of silently skipping.
func (h *Hub) lostEvents(resume uint64) {
	h.lost.Add(1)
	h.dropAll(ErrLost, &resume)
	h.fanned.advance(resume)
}

// inbox carries events stored by Publish to the fan-out goroutine of a hub
// with a local History.
type inbox struct {
	mu     sync.Mutex
	events []*Event
	spare  []*Event
	signal chan struct{} // capacity 1: "events is not empty"
}

func (q *inbox) push(e *Event) {
	q.mu.Lock()
	q.events = append(q.events, e)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns the queued events; the slice is valid until the next take.
func (q *inbox) take() []*Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.events
	q.events = q.spare[:0]
	q.spare = out
	return out
}

// runLocal is the fan-out goroutine of a hub with a local History. Local
// histories assign consecutive Seqs, but concurrent publishers may queue
// them out of order; runLocal puts them back in order. On Close it delivers
// what is queued, then returns.
func (h *Hub) runLocal(last uint64) {
	defer h.wg.Done()
	next := last + 1
	var early map[uint64]*Event // events that arrived before their predecessor
	for {
		stopping := false
		select {
		case <-h.inbox.signal:
		case <-h.ctx.Done():
			stopping = true
		}
		batch := h.inbox.take()
		for _, e := range batch {
			switch {
			case e.Seq == next:
				h.deliver(e)
				next++
				for len(early) > 0 {
					n, ok := early[next]
					if !ok {
						break
					}
					delete(early, next)
					h.deliver(n)
					next++
				}
			case e.Seq > next:
				if early == nil {
					early = make(map[uint64]*Event)
				}
				early[e.Seq] = e
			}
		}
		clear(batch)
		if stopping {
			return
		}
	}
}
